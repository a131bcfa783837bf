import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['node_modules/**', 'dist/**', 'bench/results/**', 'coverage/**', '.tap/**'] }),
  {
    // TypeBox's idiom names a schema and its Static type alike; TypeScript itself rejects real redeclarations.
    files: ['**/*.ts'],
    rules: { '@typescript-eslint/no-redeclare': 'off' }
  }
]
