"""Text messages: the outbox, the worker, Twilio, inbound commands."""
