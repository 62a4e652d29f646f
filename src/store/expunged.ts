// What expunging leaves in place of content, as Svix's server does (both adapters write these).
import { HookdError } from '../domain/errors.js';

/** A message's payload after DELETE .../msg/{id}/content: what Svix shows for a message whose payload is gone. */
export const EXPUNGED_PAYLOAD = '{"expired":true}';
/** The last error of a delivery failed because its message's content was expunged. */
export const EXPUNGED_DELIVERY_ERROR = 'message content expunged';
/** An attempt's response body after DELETE .../msg/{id}/attempt/{attempt_id}/content. */
export const EXPUNGED_RESPONSE = 'EXPUNGED';

/** A resend of a message whose content was expunged (found by the API, or by the store when it happened meanwhile). */
export const expungedResend = (): HookdError => new HookdError('HOOKD_ERR_MISSING_PAYLOAD', 'the message cannot be resent: its content was expunged');
