package org.genrec.tools.eval;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The trainer's leave-one-out split of an interaction log (genrec_trainer.evaluate, protocols
 * "movielens" and "loo"): per user, events in timestamp order with equal timestamps in file order
 * (a stable sort), the last event is the test target and every event before it the history.
 * Users with fewer than three events have no test case, as in the trainer (one for training and
 * one for validation come first).
 */
public final class LeaveLastOut {

    /** One line of the log, in the trainer's event schema. */
    public record Event(String userId, String itemId, String action, long timestamp, String query, Integer label) {}

    /** A test request: the history before the target, the target event, the request made at its time. */
    public record Case(String userId, List<Event> history, Event target) {}

    /** The trainer needs a training and a validation event before the test one. */
    static final int MIN_EVENTS = 3;

    private LeaveLastOut() {}

    /** @param events the log in file order */
    public static List<Case> cases(List<Event> events) {
        Map<String, List<Event>> byUser = new LinkedHashMap<>();
        for (Event e : events) {
            byUser.computeIfAbsent(e.userId(), u -> new ArrayList<>()).add(e);
        }
        List<Case> cases = new ArrayList<>();
        for (List<Event> userEvents : byUser.values()) {
            if (userEvents.size() < MIN_EVENTS) {
                continue;
            }
            userEvents.sort(Comparator.comparingLong(Event::timestamp)); // List.sort is stable: ties keep file order
            int last = userEvents.size() - 1;
            cases.add(new Case(userEvents.get(last).userId(), List.copyOf(userEvents.subList(0, last)), userEvents.get(last)));
        }
        return cases;
    }
}
