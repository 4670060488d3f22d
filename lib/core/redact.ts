/** Hide the user-info part of a URL (`redis://user:secret@host` → `redis://***@host`) before it is printed or logged. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
