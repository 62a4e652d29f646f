/** What expunging leaves in place of content, as Svix's server does (both adapters write these). */

/** A message's payload after DELETE .../msg/{id}/content: what Svix shows for a message whose payload is gone. */
export const EXPUNGED_PAYLOAD = '{"expired":true}';
/** The last error of a delivery failed because its message's content was expunged. */
export const EXPUNGED_DELIVERY_ERROR = 'message content expunged';
/** An attempt's response body after DELETE .../msg/{id}/attempt/{attempt_id}/content. */
export const EXPUNGED_RESPONSE = 'EXPUNGED';
