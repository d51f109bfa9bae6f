"""``python worker.py``: the worker service (runtime.worker), as the lab and docker-compose start it."""

from runtime.worker import main

if __name__ == "__main__":
    main()
