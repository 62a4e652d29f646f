/**
 * The URL a worker thread runs for the module `name` (without extension) beside `callerUrl`: name.js in dist/.
 * Under tsx (tests, `npm run bench` from src) the caller is .ts, and tsx's loader does not reach worker threads,
 * so a one-line module registers it there first and then imports name.ts.
 */
export function threadModule(name: string, callerUrl: string): URL {
  const fromSource = callerUrl.endsWith('.ts');
  const entry = new URL(`${name}${fromSource ? '.ts' : '.js'}`, callerUrl);
  if (!fromSource) return entry;
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}
