"""The index: embeddings, the Chroma store and the keyword index, and their repair."""
