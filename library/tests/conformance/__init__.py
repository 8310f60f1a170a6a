"""The client against every server it is tested with: the simulator and node's socket.io."""
