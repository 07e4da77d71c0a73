"""AgentDyn (AgentDojo fork: shopping, github, dailylife) through the gate, model-free."""
