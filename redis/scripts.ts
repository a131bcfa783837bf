// Lua run inside Redis so that each read-then-write is atomic across instances and takes
// its time from Redis's clock (one clock for the whole deployment). Redis >= 7.0
// (PEXPIRETIME, SET ... PXAT).

/**
 * Records a revocation and announces it in one step. KEYS[1]: the entry, KEYS[2]: the
 * channel (declared, so that on a Cluster it is checked to share the entry's slot). ARGV:
 * value (1, or `issuedBefore` for a subject), expiresAt (ms), the publishing command
 * (PUBLISH, or SPUBLISH for a Cluster's shard channel), message. An existing
 * entry keeps the larger value and the later expiry: a subject entry (b, e) promises that
 * every token issued before b is expired by e, so the merge never frees a live token.
 */
export const REVOKE = `
local value = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if current > value then value = current end
local at = tonumber(ARGV[2])
local previous = redis.call('PEXPIRETIME', KEYS[1])
if previous > at then at = previous end
redis.call('SET', KEYS[1], string.format('%d', value), 'PXAT', string.format('%d', at))
redis.call(ARGV[3], KEYS[2], ARGV[4])
return 1
`

/**
 * Takes a slot among a subject's connections. KEYS[1]: the subject's sorted set, members
 * `<registeredAt µs>|<connectionId>` scored by lease expiry (ms). ARGV: connectionId, max,
 * policy, leaseMs. Expired leases (connections of a crashed instance) are dropped first.
 * Microseconds order registrations: Redis runs one script at a time, and no two scripts
 * finish within one microsecond. Returns {1, member[, superseded member]} or {0}.
 */
export const ACQUIRE = `
local time = redis.call('TIME')
local micros = tonumber(time[1]) * 1000000 + tonumber(time[2])
local now = math.floor(micros / 1000)
local lease = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local superseded = nil
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  if ARGV[3] ~= 'close-oldest' then return {0} end
  local oldestAt = nil
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local at = tonumber(string.match(member, '^(%d+)|'))
    if oldestAt == nil or at < oldestAt then superseded, oldestAt = member, at end
  end
  redis.call('ZREM', KEYS[1], superseded)
end
local member = string.format('%d', micros) .. '|' .. ARGV[1]
redis.call('ZADD', KEYS[1], now + lease, member)
redis.call('PEXPIRE', KEYS[1], lease)
if superseded then return {1, member, superseded} end
return {1, member}
`

/**
 * Extends the leases of live connections. KEYS: subject sets; ARGV[1]: leaseMs, then one
 * member per key. ZADD without XX: after Redis restarted empty, the counts come back.
 */
export const REFRESH = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease)
end
return #KEYS
`
