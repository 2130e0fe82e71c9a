package org.genrec.tools.eval;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The trainer's leave-one-out split of an interaction log (genrec_trainer.evaluate, protocols
 * "movielens" and "loo"): per user, events in timestamp order with equal timestamps in file order
 * (a stable sort), the last event is the test target and every event before it the history; protocol
 * "beauty" then drops the test users whose target is cold or already seen ({@link #beautyCases}).
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

    /** What the Beauty protocol's test filter kept, and how many test users it dropped for each reason. */
    public record Filtered(List<Case> cases, int droppedCold, int droppedSeen) {}

    /** @param events the log in file order */
    public static List<Case> cases(List<Event> events) {
        return cases(timeOrderedByUser(events));
    }

    private static List<Case> cases(Collection<List<Event>> byUser) {
        List<Case> cases = new ArrayList<>();
        for (List<Event> userEvents : byUser) {
            if (userEvents.size() >= MIN_EVENTS) {
                int last = userEvents.size() - 1;
                cases.add(new Case(userEvents.get(last).userId(), List.copyOf(userEvents.subList(0, last)), userEvents.get(last)));
            }
        }
        return cases;
    }

    /**
     * The cases of the published Beauty protocol (the trainer's {@code evaluate.beauty_split}): those of
     * {@link #cases} less the test users whose target is cold (no user's events without their own held-out last one
     * hold it, so a model trained on the log never saw it) or already in their own history (a repeat cannot be
     * recommended once the history is excluded; such a target is never cold, the history being training events).
     * HSTU's MovieLens protocol keeps both and counts them as misses.
     */
    public static Filtered beautyCases(List<Event> events) {
        Collection<List<Event>> byUser = timeOrderedByUser(events);
        Set<String> known = new HashSet<>();
        for (List<Event> userEvents : byUser) {
            int trained = userEvents.size() >= MIN_EVENTS ? userEvents.size() - 1 : userEvents.size();
            userEvents.subList(0, trained).forEach(e -> known.add(e.itemId()));
        }
        List<Case> kept = new ArrayList<>();
        int cold = 0;
        int seen = 0;
        for (Case c : cases(byUser)) {
            String target = c.target().itemId();
            if (!known.contains(target)) {
                cold++;
            } else if (c.history().stream().anyMatch(e -> e.itemId().equals(target))) {
                seen++;
            } else {
                kept.add(c);
            }
        }
        return new Filtered(kept, cold, seen);
    }

    /** Each user's events, users in order of first appearance. */
    private static Collection<List<Event>> timeOrderedByUser(List<Event> events) {
        Map<String, List<Event>> byUser = new LinkedHashMap<>();
        for (Event e : events) {
            byUser.computeIfAbsent(e.userId(), u -> new ArrayList<>()).add(e);
        }
        for (List<Event> userEvents : byUser.values()) {
            userEvents.sort(Comparator.comparingLong(Event::timestamp)); // List.sort is stable: ties keep file order
        }
        return byUser.values();
    }
}
