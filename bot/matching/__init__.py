"""Reading a message and matching it to the FAQ: text folding, English or Spanish, what the
message asks (`reading`), the matcher with its honest "I don't know", and its evaluation."""
