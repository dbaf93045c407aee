"""Running as a service: systemd notifications, watchdog, signals."""
