"""The staff's side: where each request stands (`desk`), what the staff chats show (`cards`),
what the staff do there (`room`), and the worker that sends it all (`notifier`)."""
