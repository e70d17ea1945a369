export default async function globalTeardown(): Promise<void> {
  const stops =
    (globalThis as { __onebillTeardown?: Array<() => Promise<void>> }).__onebillTeardown ?? [];
  for (const stop of stops) await stop();
}
