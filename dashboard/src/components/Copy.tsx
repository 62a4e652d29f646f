import { useState } from 'preact/hooks';

/** Copies `text` to the clipboard; says so for a moment (or that the browser refused). */
export function CopyButton(props: { text: string; label?: string; testId?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setState('copied');
    } catch {
      setState('failed');
    }
    window.setTimeout(() => setState('idle'), 1500);
  };
  const what = props.label ?? 'Copy';
  return (
    <button type="button" class="copy small-button ghost" onClick={copy} data-testid={props.testId ?? 'copy'} title="Copy to the clipboard">
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : what}
    </button>
  );
}

/** An id in monospace with a copy button beside it. */
export function CopyableId(props: { value: string; testId?: string }) {
  return (
    <span class="copyable">
      <span class="mono">{props.value}</span> <CopyButton text={props.value} testId={props.testId} />
    </span>
  );
}
