/** The label value every app or endpoint beyond the bound shares. Ids never collide with it (they carry a prefix). */
export const OTHER_LABEL = 'other';

/**
 * Bounded label cardinality: the first `max` distinct values this process sees keep their own label value, every
 * later one is reported as `other`. A value keeps the label it got first for the life of the process, so a
 * counter never moves between series (which would break rates); a restart starts over.
 */
export class LabelBound {
  private readonly admitted = new Set<string>();

  constructor(readonly max: number) {}

  label(value: string): string {
    if (this.admitted.has(value)) return value;
    if (this.admitted.size >= this.max) return OTHER_LABEL;
    this.admitted.add(value);
    return value;
  }

  /** How many values have their own label. */
  get size(): number {
    return this.admitted.size;
  }
}
