"""Domain services shared by the functions (which stay thin: validate, call a service, return)."""
