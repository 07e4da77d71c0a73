"""AgentDojo v1.2.2 data and model-free replay for plangate (see NOTES.md, INSTALL.txt)."""
