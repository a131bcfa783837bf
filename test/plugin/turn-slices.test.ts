import t from 'tap'
import { TurnSlices } from '../../plugin/turn-slices.ts'

const turn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

t.test('items added during a walk join its end, still `perTurn` a turn', async (t) => {
  const visited: number[] = []
  const slices = new TurnSlices<number>(3, (n) => { visited.push(n) })
  slices.add([1, 2, 3, 4])
  t.same(visited, [1, 2, 3], 'the first slice at once')
  slices.add([5, 6])
  t.same(visited, [1, 2, 3], 'joining does not visit out of turn')
  t.equal(slices.pending, 3)
  await turn()
  t.same(visited, [1, 2, 3, 4, 5, 6])
  t.equal(slices.pending, 0)
})

t.test('cleared while a slice is scheduled, then refilled: one walk, never two at once', async (t) => {
  const visited: number[] = []
  const slices = new TurnSlices<number>(2, (n) => { visited.push(n) })
  slices.add([1, 2, 3])
  slices.clear()
  slices.add([10, 11, 12, 13, 14])
  t.same(visited, [1, 2], 'the refill waits for the slice already scheduled')
  await turn()
  t.same(visited, [1, 2, 10, 11])
  await turn()
  t.same(visited, [1, 2, 10, 11, 12, 13])
  await turn()
  t.same(visited, [1, 2, 10, 11, 12, 13, 14])
})
