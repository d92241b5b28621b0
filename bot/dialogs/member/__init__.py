"""What members do in chat: one module per flow."""
