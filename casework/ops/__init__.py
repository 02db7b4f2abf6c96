"""Operations: encrypted backups and restores (docs/operations.md)."""
