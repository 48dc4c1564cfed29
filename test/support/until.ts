/** Waits for `test` to hold, looking every `everyMs`; fails after `timeoutMs` naming what it waited for. */
export async function until(test: () => boolean | Promise<boolean>, what: string, timeoutMs = 45_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
