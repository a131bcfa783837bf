/**
 * Open-loop sending for the paced jobs: send n (from 0) is due at `started + n × 1000 / rate`
 * whatever the server answers, and `send` gets that due time so that the job measures each
 * latency from it: a stalled server is not hidden by a stalled sender (no coordinated
 * omission). A busy loop on setImmediate: the generator owns its core, and timers are too
 * coarse for tens of thousands of sends per second. Runs until `stopped()`. Each send goes
 * out as soon as it is due (sending it an interval late, as echo once did, added one
 * interval to every latency sample).
 */
export function sendPaced (rate: number, stopped: () => boolean, send: (n: number, dueAt: number) => void): void {
  const started = performance.now()
  const intervalMs = 1000 / rate
  let sent = 0
  const tick = (): void => {
    if (stopped()) return
    const due = Math.floor((performance.now() - started) / intervalMs) + 1
    while (sent < due) {
      send(sent, started + sent * intervalMs)
      sent++
    }
    setImmediate(tick)
  }
  tick()
}
