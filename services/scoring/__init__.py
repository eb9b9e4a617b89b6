"""The scoring service (PD and decision from the champion), and batch scoring on one machine or Spark."""
