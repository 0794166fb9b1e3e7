// Shows the API's validation errors next to the field they name. The API answers
// {error: {message, param}} with param a path ("tuning.method.r"); each form control carries its path
// in data-param, and its message slot is linked with aria-describedby so screen readers read it.
import type { ApiError } from '../api/client.ts';
import { h } from '../dom.ts';

export class FormErrors {
  /** For errors about no field on the form (or about the request as a whole). */
  readonly summary = h('div', { class: 'form-summary', role: 'alert' });

  constructor(private readonly form: HTMLFormElement) {}

  clear(): void {
    this.summary.replaceChildren();
    for (const el of this.form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
    for (const slot of this.form.querySelectorAll('.field-error')) slot.textContent = '';
  }

  /** Puts the message beside its field and moves focus there; else into the summary. */
  show(error: ApiError): void {
    this.clear();
    const field = error.param ? this.fieldFor(error.param) : null;
    if (!field) {
      this.summary.append(h('p', { class: 'notice notice-error' }, error.message));
      this.summary.scrollIntoView({ block: 'nearest' });
      return;
    }
    field.setAttribute('aria-invalid', 'true');
    const slot = this.form.querySelector(`#${CSS.escape(field.id)}-error`);
    if (slot) slot.textContent = error.message;
    field.closest('details')?.setAttribute('open', '');
    field.focus();
  }

  /** The control for a param, or for its nearest named parent ("tuning.method.target_modules[1]" → target_modules). */
  private fieldFor(param: string): HTMLElement | null {
    for (let path = param; ; ) {
      const field = this.form.querySelector<HTMLElement>(`[data-param="${CSS.escape(path)}"]`);
      if (field && !field.closest('[hidden]')) return field;
      const parent = path.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
      if (parent === path) return null;
      path = parent;
    }
  }
}
