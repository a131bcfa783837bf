import t from 'tap'
import { Heartbeat, HEARTBEAT_SLICE, type Beating } from '../../plugin/heartbeat.ts'
import { until } from '../helpers.ts'

t.test('a beat pings every connection once, HEARTBEAT_SLICE per turn of the loop', async (t) => {
  // A counter of check phases, so that each ping can say in which turn it ran.
  let turn = 0
  let ticking = true
  const tick = (): void => { turn++; if (ticking) setImmediate(tick) }
  setImmediate(tick)
  const turns: number[] = []
  const beaten = new Map<number, number>()
  const crowd: Beating[] = Array.from({ length: 2 * HEARTBEAT_SLICE + 7 }, (_, i) => ({
    heartbeat: () => {
      turns.push(turn)
      beaten.set(i, (beaten.get(i) ?? 0) + 1)
    }
  }))
  // Only the first beat finds the crowd: a later one may start before the test looks.
  let beats = 0
  const heartbeat = new Heartbeat(5, () => beats++ === 0 ? crowd : [])
  t.teardown(() => { heartbeat.stop(); ticking = false })
  await until(() => turns.length >= crowd.length)
  heartbeat.stop()
  const perTurn = [...new Set(turns)].map((n) => turns.filter((x) => x === n).length)
  t.same(perTurn, [HEARTBEAT_SLICE, HEARTBEAT_SLICE, 7], 'one slice per turn')
  t.ok([...new Set(turns)].every((n, i, all) => i === 0 || n === (all[i - 1] as number) + 1), 'in consecutive turns')
  t.equal(beaten.size, crowd.length, 'every connection pinged')
  t.ok([...beaten.values()].every((n) => n === 1), 'each once')
})

t.test('a connection that leaves during a beat does not stop the others being pinged', async (t) => {
  const crowd = new Set<Beating>()
  const pinged: Beating[] = []
  for (let i = 0; i < HEARTBEAT_SLICE + 3; i++) {
    const connection: Beating = { heartbeat: () => { pinged.push(connection); crowd.delete(connection) } }
    crowd.add(connection)
  }
  const heartbeat = new Heartbeat(5, () => crowd)
  t.teardown(() => { heartbeat.stop() })
  await until(() => pinged.length === HEARTBEAT_SLICE + 3)
  heartbeat.stop()
  t.equal(crowd.size, 0, 'every one pinged (and, here, closed)')
})
