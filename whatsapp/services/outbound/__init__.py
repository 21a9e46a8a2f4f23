"""Outbound messages: `message_create` (validate and store a queued message), `messages_enqueue`
(the one way a queued row reaches the sending task: the post_save signal, bulk creators, retries
and the sweeper all call it) and `messages_send` (the one sending pipeline, run by
`send_message_task` on a batch of ids). States and errors: README "Outbound" and
`whatsapp.services.outbound.policy`.

Choices (issue #5; Meta: messages reference, customer service windows, error codes, throughput):

- Validation reuses `whatsapp.graph.payloads` (Meta's rules live there once); its
  `PayloadError(field, message)` becomes `InvalidContentError` naming the field. Recipients are
  international numbers checked with `phonenumbers` and stored as E.164 digits (no "+", as Meta
  writes `wa_id`), or a BSUID (`CC.<alnum>`, Meta: business-scoped user ids), sent in `recipient`
  instead of `to`.
- The 24-hour window (per customer and sending number, as Meta keeps it) is checked against
  the customer's inbound messages at creation (a clear 409 for the API caller) and again before
  sending (ORM-created rows, or a window that closed while the message waited). Only templates
  may be sent outside it.
- Record before calling: the attempt (status `sending`, attempts+1, last_attempt_at) is written
  by one conditional `UPDATE ... RETURNING` per chunk, in autocommit, *before* Meta is called.
  It only matches `queued` rows, so a duplicated task delivery (acks_late, a worker lost) can
  never send twice.
  Every send carries `biz_opaque_callback_data = client_reference` so a status webhook can find
  the row even when our send response was lost.
- At-most-once after a timeout: a `GraphTimeoutError(maybe_delivered=True)` (the request was
  written, no answer) is NOT retried, because Meta has no idempotency key and a retry may
  duplicate the message. The row stays `sending`: a status webhook carrying its client_reference
  settles it (sent/delivered/read/failed), and `messages_sweep_stale` fails it with
  `send_unconfirmed` once `WHATSAPP_SEND_UNCONFIRMED_AFTER` passes without one.
- A worker killed between the claim and the request: the wire fence
  (`whatsapp.services.outbound.fence`, one Redis `SET NX` per request, right before it is
  written) tells which claimed rows were never written; `messages_reclaim_unposted` (the
  sweeper, a running campaign's ticks) puts those back in the queue after
  `WHATSAPP_SEND_RECLAIM_AFTER` and they are sent once. Only a request that was being written
  when its worker died stays `sending` for its status webhook (it carries the
  client_reference) or the unconfirmed sweep: the ambiguous set is the requests on the wire.
- Meta's errors follow one table (`policy.ERROR_POLICY`): transient errors and rate limits are
  retried with the shared `RetryPolicy` (backoff + jitter, retry-after honoured, bounded by
  `WHATSAPP_SEND_MAX_ATTEMPTS`), 130429 also pauses the number, 131056 backs the pair off 4^n s,
  131049 is deferred 24 h, 131050 opts the contact out. Between attempts the row goes back to
  `queued` (the next claim needs it) and is enqueued again with its countdown. When the policy
  gives up: `failed`, `retries_exhausted`, Meta's last code and text kept.
- Token: the Graph client refreshes once on 190 (`refresh_access_token`). When the refresh or
  the retried call fails, the credential is marked invalid (the org's sending halts) and the
  message fails with `sending_halted`; later messages of that org fail the same way before any
  Meta call, until a new token is stored. Nothing is silently dropped.
- Permanent errors fail at once with Meta's code, title and message and the table's reason
  (`undeliverable`, `template_paused`, ...; `meta_error` for codes without a row).
- Meta's 200 makes the row `accepted` (wamid, `accepted_at`, Meta's `message_status`), never
  `sent`: that, and `sent_at`, come from the status webhook. A receipt can beat our send
  response: `accepted` is written only where the row is still `queued`/`sending` (STATUS_RANK),
  otherwise only the missing wamid, `accepted_at` and `message_status` are filled in.
- Throughput: slots of the number's shared Redis limiter are reserved for a chunk before it is
  claimed (`whatsapp.services.ratelimit`); a queue longer than `WHATSAPP_RATE_LIMIT_MAX_WAIT`
  makes the rest of the batch come back later rather than hold a worker asleep. No attempt is
  counted for that.
- Logs carry ids, codes and outcomes, never the token or the message content.

Meta pages:
- messages reference: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
- customer service windows: https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows
- error codes: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
- throughput: https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput
- business-scoped user ids: https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/
"""

from whatsapp.services.outbound.bulk_create import messages_bulk_create
from whatsapp.services.outbound.create import message_create, message_create_once
from whatsapp.services.outbound.direct import send_whatsapp_message
from whatsapp.services.outbound.enqueue import messages_enqueue
from whatsapp.services.outbound.rules import (
    FailureReason,
    Recipient,
    customer_window_open,
    recipient_normalize,
    sending_number_for,
)
from whatsapp.services.outbound.send import SendOutcome, message_send, messages_send
from whatsapp.services.outbound.sweep import messages_reclaim_unposted, messages_sweep_stale

__all__ = [
    "FailureReason",
    "Recipient",
    "SendOutcome",
    "customer_window_open",
    "message_create",
    "message_create_once",
    "message_send",
    "messages_bulk_create",
    "messages_enqueue",
    "messages_reclaim_unposted",
    "messages_send",
    "messages_sweep_stale",
    "recipient_normalize",
    "send_whatsapp_message",
    "sending_number_for",
]
