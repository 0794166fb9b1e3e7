// Hash routes (#/jobs/ftjob-…): the service serves one page, and nothing in a route is secret.
export interface PageContext {
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the user leaves the page: fetches, streams and timers stop with it. */
  signal: AbortSignal;
}

/** A page renders into an element; it may keep updating it until its signal aborts. */
export type Page = (context: PageContext) => HTMLElement;

interface Route {
  pattern: RegExp;
  names: string[];
  page: Page;
}

export class Router {
  private readonly routes: Route[] = [];
  private current?: AbortController;

  constructor(
    private readonly outlet: HTMLElement,
    private readonly fallback: string,
    private readonly onChange: (path: string) => void,
  ) {}

  /** `path` like '/jobs/:id'; ':name' matches one segment. */
  add(path: string, page: Page): this {
    const names: string[] = [];
    const pattern = new RegExp(`^${path.replace(/:(\w+)/g, (_m, name: string) => (names.push(name), '([^/]+)'))}$`);
    this.routes.push({ pattern, names, page });
    return this;
  }

  private listening = false;
  private suspended = false;

  /** Renders the current hash now and on every change, until suspended. */
  start(moveFocus = false): void {
    this.suspended = false;
    if (!this.listening) {
      this.listening = true;
      window.addEventListener('hashchange', () => this.render(true));
    }
    this.render(moveFocus);
  }

  /** Leaves the current page (its signal aborts) and ignores the hash until start() (the key prompt is up). */
  suspend(): void {
    this.suspended = true;
    this.current?.abort();
  }

  private render(moveFocus: boolean): void {
    if (this.suspended) return;
    const [path, search = ''] = location.hash.replace(/^#/, '').split('?');
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      this.current?.abort();
      this.current = new AbortController();
      const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
      const element = route.page({ params, query: new URLSearchParams(search), signal: this.current.signal });
      this.outlet.replaceChildren(element);
      this.onChange(path);
      // Screen readers and keyboards start at the new page's heading, not at the link that was clicked.
      if (moveFocus) this.outlet.querySelector<HTMLElement>('h1')?.focus();
      return;
    }
    location.replace(`#${this.fallback}`);
  }
}

export function navigate(path: string): void {
  location.hash = path;
}
