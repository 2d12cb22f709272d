"""Stage 2: base and environment images per dependency state; imports only the core."""
