# Hang: sleep far past TIMEOUT.
sleep 3600
