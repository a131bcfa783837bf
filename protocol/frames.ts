import { Type, type Static, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { ERROR_CODES } from './error-codes.ts'
import { FrameType } from './frame-types.ts'
import { MAX_REQUEST_ID_LENGTH, MAX_TOKEN_LENGTH } from './version.ts'

const Token = Type.String({ minLength: 1, maxLength: MAX_TOKEN_LENGTH, description: 'A compact JWT' })
const RequestId = Type.String({ minLength: 1, maxLength: MAX_REQUEST_ID_LENGTH, description: 'Client-chosen id, echoed in the reply' })
const EpochMs = Type.Integer({ minimum: 0, description: 'Absolute time, milliseconds since the Unix epoch (UTC)' })
const DurationMs = Type.Integer({ minimum: 0, description: 'Milliseconds from when the server sent the frame' })

// Objects accept unknown properties so that a later minor revision can add fields
// without breaking older peers; receivers ignore what they do not know.

/** Client → server. The credential, for clients that could send it neither as a subprotocol nor as a cookie. */
export const AuthFrame = Type.Object({
  type: Type.Literal(FrameType.Auth),
  token: Token
})
export type AuthFrame = Static<typeof AuthFrame>

/** Client → server. A fresh token for the same subject (and session). */
export const RenewFrame = Type.Object({
  type: Type.Literal(FrameType.Renew),
  token: Token,
  id: Type.Optional(RequestId)
})
export type RenewFrame = Static<typeof RenewFrame>

/** Server → client. The connection is authenticated: who it is and when its credential expires. */
export const AuthenticatedFrame = Type.Object({
  type: Type.Literal(FrameType.Authenticated),
  connectionId: Type.String({ minLength: 1 }),
  subject: Type.String({ minLength: 1 }),
  sessionId: Type.Optional(Type.String({ minLength: 1 })),
  expiresAt: EpochMs,
  expiresIn: DurationMs
})
export type AuthenticatedFrame = Static<typeof AuthenticatedFrame>

/** Server → client. Renew before `expiresAt` (`expiresIn` from now) or the server closes the connection. */
export const RenewRequiredFrame = Type.Object({
  type: Type.Literal(FrameType.RenewRequired),
  expiresAt: EpochMs,
  expiresIn: DurationMs
})
export type RenewRequiredFrame = Static<typeof RenewRequiredFrame>

/** Server → client. The renewal was accepted; the connection's new deadline. */
export const RenewedFrame = Type.Object({
  type: Type.Literal(FrameType.Renewed),
  id: Type.Optional(RequestId),
  expiresAt: EpochMs,
  expiresIn: DurationMs
})
export type RenewedFrame = Static<typeof RenewedFrame>

/** Server → client. An auth failure; sent before every auth-related close and in reply to a failed `renew`. */
export const AuthErrorFrame = Type.Object({
  type: Type.Literal(FrameType.AuthError),
  code: Type.Enum(ERROR_CODES),
  message: Type.String(),
  closing: Type.Boolean({ description: 'The server closes the connection right after this frame' }),
  retry: Type.Boolean({ description: 'Fetching a new token and trying again can succeed' }),
  id: Type.Optional(RequestId)
})
export type AuthErrorFrame = Static<typeof AuthErrorFrame>

export type ClientFrame = AuthFrame | RenewFrame
export type ServerFrame = AuthenticatedFrame | RenewRequiredFrame | RenewedFrame | AuthErrorFrame
export type Frame = ClientFrame | ServerFrame

/** Who sends a frame. */
export type FrameDirection = 'client-to-server' | 'server-to-client'

export interface FrameDefinition {
  readonly type: FrameType
  readonly direction: FrameDirection
  readonly schema: TSchema
}

/** Every frame of the protocol, in the order SPEC.md documents them. */
export const FRAMES: readonly FrameDefinition[] = Object.freeze([
  { type: FrameType.Auth, direction: 'client-to-server', schema: AuthFrame },
  { type: FrameType.Authenticated, direction: 'server-to-client', schema: AuthenticatedFrame },
  { type: FrameType.RenewRequired, direction: 'server-to-client', schema: RenewRequiredFrame },
  { type: FrameType.Renew, direction: 'client-to-server', schema: RenewFrame },
  { type: FrameType.Renewed, direction: 'server-to-client', schema: RenewedFrame },
  { type: FrameType.AuthError, direction: 'server-to-client', schema: AuthErrorFrame }
] as const)

// Compiled once at load: validation runs on every protocol frame a server or client receives.
const authFrameValidator = Compile(AuthFrame)
const renewFrameValidator = Compile(RenewFrame)
const serverFrameValidator = Compile(Type.Union([AuthenticatedFrame, RenewRequiredFrame, RenewedFrame, AuthErrorFrame]))

export const isAuthFrame = (value: unknown): value is AuthFrame => authFrameValidator.Check(value)
export const isRenewFrame = (value: unknown): value is RenewFrame => renewFrameValidator.Check(value)
export const isServerFrame = (value: unknown): value is ServerFrame => serverFrameValidator.Check(value)
