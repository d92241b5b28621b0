"""What staff do in chat (commands at the counter and the owner's desk): one module per flow."""
