// The API key lives in this tab's sessionStorage only: it is typed once, survives reloads of the tab,
// is gone when the tab closes, and never appears in a URL.
const STORAGE_KEY = 'glmtune.apiKey';

export const keyStore = {
  get(): string | null {
    return sessionStorage.getItem(STORAGE_KEY);
  },
  set(key: string): void {
    sessionStorage.setItem(STORAGE_KEY, key);
  },
  clear(): void {
    sessionStorage.removeItem(STORAGE_KEY);
  },
};
