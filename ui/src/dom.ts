// A tiny element builder: h('button', { type: 'button', onclick: fn }, 'Save'). Children are nodes or
// text (never parsed as HTML, so API strings cannot inject markup).
export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined | ((event: any) => void);
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

let idCounter = 0;
/** A document-unique id for label/for and aria-describedby pairs. */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A column heading; numeric columns are right-aligned like their cells (td.num). */
export type Header = string | { label: string; numeric: true };
export const numeric = (label: string): Header => ({ label, numeric: true });

/** A table that scrolls sideways on a narrow screen instead of squeezing its columns. */
export function table(caption: string, headers: Header[], rows: Node[], options: { captionHidden?: boolean } = {}): HTMLElement {
  return h(
    'div',
    { class: 'table-scroll', role: 'region', 'aria-label': caption, tabindex: 0 },
    h(
      'table',
      {},
      h('caption', { class: options.captionHidden ? 'visually-hidden' : null }, caption),
      h('thead', {}, h('tr', {}, headers.map((c) => (typeof c === 'string' ? h('th', { scope: 'col' }, c) : h('th', { scope: 'col', class: 'num' }, c.label))))),
      h('tbody', {}, rows),
    ),
  );
}
