"one"
