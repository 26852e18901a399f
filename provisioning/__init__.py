"""Launchpad's provisioning side: Terraform toolchain, workspaces, runs, and AWS clients (no Django here)."""
