"""Development fakes of third parties riskmap cannot reach from a laptop or a test (an SMS
gateway); never part of a deployment."""
