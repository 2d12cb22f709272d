"""The demo repository *tinytext*, generated with a history that exercises every path."""
