"""Development tools: the simulator with a real Home Assistant, provisioning, a browser."""
