import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A button whose action runs only after the operator confirms it in a modal dialog (destructive or costly
 * actions: delete, disable, recover, resend again). Escape or Cancel closes it without acting.
 */
export function ConfirmButton(props: {
  label: ComponentChildren;
  title: string;
  detail: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => void | Promise<void>;
  class?: string;
  testId?: string;
  disabled?: boolean;
  danger?: boolean;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class={props.class ?? 'small-button'} data-testid={props.testId} disabled={props.disabled} onClick={() => setOpen(true)}>
        {props.label}
      </button>
      {open && (
        <ConfirmDialog
          title={props.title}
          confirmLabel={props.confirmLabel}
          danger={props.danger ?? true}
          onCancel={() => setOpen(false)}
          onConfirm={() => {
            setOpen(false);
            void props.onConfirm();
          }}
        >
          {props.detail}
        </ConfirmDialog>
      )}
    </>
  );
}

export function ConfirmDialog(props: { title: string; confirmLabel: string; danger: boolean; onCancel: () => void; onConfirm: () => void; children: ComponentChildren }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const ok = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
    // Focused by hand, not with autofocus: browsers refuse autofocus in a cross-origin frame (the embedded portal).
    ok.current?.focus();
  }, []);
  return (
    <dialog ref={dialog} class="confirm" data-testid="confirm-dialog" aria-labelledby="confirm-title" onCancel={props.onCancel}>
      <h3 id="confirm-title">{props.title}</h3>
      <div class="confirm-detail">{props.children}</div>
      <div class="confirm-actions">
        <button type="button" class="ghost" onClick={props.onCancel} data-testid="confirm-cancel">
          Cancel
        </button>
        <button type="button" class={props.danger ? 'danger' : ''} onClick={props.onConfirm} data-testid="confirm-ok" ref={ok}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
