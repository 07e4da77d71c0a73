"""The inbox assistant: an OpenClaw-style tool set on real protocols, behind plangate."""
