"""Keys and ciphertext: the only package that touches either."""
