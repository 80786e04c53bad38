"""The overfit MLP of the dropout article (seed 002, its complete example) as written: 100 noisy
circles, the first 30 train and the other 70 validate, Dense(500) for 4,000 epochs.

Deviations: the epoch count can be lowered for smoke tests (bench.bare.report.epochs); the fit
call is timed and the script ends with the harness's JSON line; the accuracy plot is left out
(nothing would show it, and fitq draws its plots only on request)."""

# mlp overfit on the two circles dataset
from keras.layers import Dense
from keras.models import Sequential
from sklearn.datasets import make_circles

from bench.bare.report import FitTimer, emit, epochs

# generate 2d classification dataset
X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
# split into train and test
n_train = 30
trainX, testX = X[:n_train, :], X[n_train:, :]
trainy, testy = y[:n_train], y[n_train:]
# define model
model = Sequential()
model.add(Dense(500, input_dim=2, activation="relu"))
model.add(Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
# fit model
timer = FitTimer()
with timer("circles"):
    history = model.fit(
        trainX, trainy, validation_data=(testX, testy), epochs=epochs(4000), verbose=0
    )
# evaluate the model
_, train_acc = model.evaluate(trainX, trainy, verbose=0)
_, test_acc = model.evaluate(testX, testy, verbose=0)
print("Train: %.3f, Test: %.3f" % (train_acc, test_acc))
emit(timer, {"circles": history.history})
