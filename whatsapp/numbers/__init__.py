"""Connecting WhatsApp numbers (Embedded Signup as a resumable state machine, or by hand) and the
number doctor that keeps checking them. Pages at `/numbers/` on the organization's host."""
