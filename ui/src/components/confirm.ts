// A yes/no question in a modal <dialog>: focus moves into it, Escape answers no, focus returns after.
import { h } from '../dom.ts';

export function confirmDialog(question: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const opener = document.activeElement as HTMLElement | null;
    const cancel = h('button', { type: 'button', value: 'cancel' }, 'Keep');
    const confirm = h('button', { type: 'button', class: 'danger', value: 'confirm' }, confirmLabel);
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-question' }, h('p', { id: 'confirm-question' }, question), h('div', { class: 'actions' }, cancel, confirm));
    const finish = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      opener?.focus();
      resolve(answer);
    };
    cancel.addEventListener('click', () => finish(false));
    confirm.addEventListener('click', () => finish(true));
    dialog.addEventListener('cancel', (e) => (e.preventDefault(), finish(false)));
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
