import { useRef, useState } from 'preact/hooks';

export interface Submit {
  /** The form's onSubmit. */
  submit: (event: Event) => Promise<void>;
  /** The last failure's message (cleared when the next submit starts), for the form to show. */
  error: string | null;
  /** While an action runs: a submit meanwhile is ignored (a double click sends one request). */
  busy: boolean;
}

/**
 * What every dashboard form does on submit: no page load, one `action` at a time, the last error cleared, and a
 * failure's message kept (`describe` words it, by default the error's own message: the API's `detail`).
 */
export function useSubmit(action: () => Promise<void> | void, describe: (error: unknown) => string = (error) => (error as Error).message): Submit {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The guard reads a ref: two submits in one render would both see busy === false.
  const running = useRef(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (running.current) return;
    running.current = true;
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (failure) {
      setError(describe(failure));
    } finally {
      running.current = false;
      setBusy(false);
    }
  };
  return { submit, error, busy };
}
