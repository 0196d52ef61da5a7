"""depdetect inside other engines: `depdetect.integrations.ray` (Ray Data batch inference)."""
