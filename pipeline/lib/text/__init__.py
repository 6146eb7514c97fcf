"""The text of one document: reading and decoding, cleaning, structure, sentences, tokens, UN symbols."""
