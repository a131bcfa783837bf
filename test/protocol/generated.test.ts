// protocol/error-actions.generated.ts is derived from the error table: it must be what the
// generator writes today, or the client acts on a table that is not the protocol's.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { ERROR_ACTIONS_FILE, renderErrorActions } from '../../scripts/generate-protocol.ts'

t.test('the generated error actions are up to date', async (t) => {
  t.equal(readFileSync(ERROR_ACTIONS_FILE, 'utf8'), renderErrorActions(),
    'stale: run `node --import tsx scripts/generate-protocol.ts` and commit protocol/error-actions.generated.ts')
})
