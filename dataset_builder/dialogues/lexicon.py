"""
The grammar content the synthetic dialogue generator composes from.

Two kinds of content live here:

- Shared vocabulary, used by every split the way real speakers share words: `SLOTS` (people, objects, places,
  times), `SITUATION_SLOTS` (per-emotion situation fillers: offences, losses, wins, gross things, threats, ...),
  `EXPLICIT` (emotion words at graded intensity), `JUDGEMENTS` (verdict adjectives), `INTENSITY_MODIFIERS`,
  `TAILS` (hedges), `INTERJECTIONS`,
  `BODILY` (bodily reactions), `ACTIONS` (action tendencies), `ONLINE_TAGS` and `NAMES`.
- Templates, each given an id and assigned to exactly one of train/validation/test by `dialogues.TemplateBank`:
  `FRAMES`, `CONTINUATIONS`, `FILLERS` (focal-speaker sentence frames), `EVENTS` (concrete situations per emotion
  and register), `SITUATIONS` (situation sentences over `SITUATION_SLOTS`), `APPRAISALS`, `REMARKS` (short
  everyday lines per emotion, most focal turns), `OPENERS`,
  `FOLLOW_UPS`, `REACTIONS`, `CLOSERS` and `LLM_PROMPTS`. Test dialogues are built from sentence frames,
  situations and appraisals never seen in training.

Template syntax: `{slot}` is filled from `SLOTS`/`SITUATION_SLOTS`; in frames, `{event}`, `{body}`, `{appraisal}`,
`{action}`, `{feel}`, `{interj}`, `{judge}`, `{time}`, `{other}` and `{tail}` are the emotional cues and glue. Events,
situations, bodily reactions and actions are clauses (no final punctuation), appraisals are whole sentences.

Explicit emotion words are never negated ("not happy" is not a way to say sad); the few negations that do appear
("I don't feel safe here anymore") carry the emotion of the entry they belong to.
"""

REGISTERS = ("casual", "work", "family", "online")

# ----------------------------------------------------------------------------------------------------------------
# Shared vocabulary
# ----------------------------------------------------------------------------------------------------------------

NAMES = (
    "Maya", "Jordan", "Priya", "Sam", "Lena", "Marcus", "Aisha", "Tomás", "Chloe", "Dev", "Nora", "Kenji", "Fatima",
    "Leo", "Grace", "Omar", "Hana", "Luca", "Zoe", "Ethan", "Amara", "Rafael", "Ivy", "Noah", "Sofia", "Malik",
    "Ingrid", "Diego", "Mei", "Olivia", "Kwame", "Elena", "Ravi", "Tess", "Jonah", "Yara", "Felix", "Nadia", "Arjun",
    "Clara", "Theo", "Bianca", "Kofi", "Lucy", "Mateo", "Sana", "Owen", "Freya", "Hassan", "Julia", "Emeka", "Rosa",
    "Callum", "Anya", "Bruno", "Leila", "Finn", "Imani", "Hugo", "Keiko", "Ada", "Silas", "Zainab", "Niko",
)

SLOTS = {
    "name": NAMES,
    "friend": (
        "my roommate", "my best friend", "my cousin", "my neighbour", "my old college friend", "my gym buddy",
        "my friend {name}", "my flatmate", "{name}", "{name} from book club", "my partner", "my ex",
    ),
    "coworker": (
        "{name} from marketing", "my deskmate", "the new hire", "{name}", "someone from accounting",
        "my team lead", "the intern", "{name} from IT", "the other project lead", "a guy from sales",
    ),
    "boss": ("my manager", "my boss", "the director", "the VP", "my supervisor", "the head of the department"),
    "relative": (
        "my mom", "my dad", "my sister", "my brother", "my grandma", "my uncle", "my aunt", "my stepdad",
        "my mother-in-law", "my cousin", "my grandpa", "my stepsister",
    ),
    "work_item": (
        "report", "presentation", "slides", "budget proposal", "code review", "design", "pitch deck",
        "quarterly numbers", "project plan", "client proposal", "research summary", "grant application",
    ),
    "time": (
        "this morning", "yesterday", "last night", "an hour ago", "on Friday", "just now", "over the weekend",
        "earlier today", "at lunch", "on the way home", "first thing today", "the other day",
    ),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "next week"),
    "month": ("April", "May", "June", "September", "October"),
    "food": ("sandwich", "salad", "leftovers", "yogurt", "soup", "burrito", "pasta", "muffin", "noodles", "curry"),
    "thing": ("laptop", "bike", "camera", "car", "headphones", "drill", "tent", "guitar", "blender", "jacket"),
    "place": (
        "the grocery store", "the gym", "the library", "the pharmacy", "the mall", "the post office",
        "the bakery", "the station", "the hardware store", "the park",
    ),
    "money": ("two hundred dollars", "three grand", "fifty bucks", "four hundred euros", "a hundred pounds"),
    "social": (
        "the party", "the wedding", "game night", "the barbecue", "my birthday dinner", "the reunion",
        "the concert", "brunch", "the baby shower", "movie night",
    ),
    "show": ("the concert", "the playoffs", "the musical", "the festival", "the comedy show", "the final"),
    # Everyday things people react to, argue about or plan around.
    "topic": (
        "this new update", "the parking situation", "the self-checkout machines", "the new schedule",
        "the group project", "that referee", "this whole thread", "the landlord", "the printer", "the season finale",
        "the new manager", "the dress code", "the delivery app", "the group chat", "the bus timetable",
    ),
    "annoyance": (
        "leave their dishes in the sink", "talk through the whole movie", "cut in line", "reply all",
        "park across two spaces", "interrupt me", "ignore my texts", "show up late", "take my stuff without asking",
        "blast music at night", "lie about it", "borrow things and never give them back", "tap on the table",
    ),
    "basic_task": (
        "reply to an email", "say sorry", "put the lid back on", "show up on time", "read the instructions",
        "wash your own mug", "signal before turning", "just tell the truth", "knock first", "close the door",
    ),
    "favour": ("cover a shift", "lend money", "host the party", "do the dishes", "give someone a ride"),
    "vile": (
        "abuse animals", "spit on the street", "cheat on their partners", "mock disabled people",
        "steal from charity boxes", "leave dirty diapers in parking lots", "hurt kids", "lick their plates in public",
    ),
    "smell": ("rotten eggs", "old sweat", "that bin", "burnt hair", "sour milk", "wet dog", "the sewer"),
    "gross_act": ("sneeze on the food", "lick the spoon and put it back", "pick your nose", "drink out of the carton"),
    "worry_future": (
        "the interview tomorrow", "my exam on {day}", "the results", "the surgery", "flying next week",
        "meeting her parents", "the first day at the new job", "the court date", "driving in the snow",
        "my presentation", "the scan on {day}", "the layoffs",
    ),
    "phobia": ("spiders", "heights", "the dark", "deep water", "needles", "big dogs", "hospitals", "clowns", "storms"),
    "scary_act": (
        "open the letter", "look at my bank account", "go back there", "check the results", "walk home alone",
        "tell them the truth", "drive at night", "answer the phone",
    ),
    "good_future": ("the trip", "the weekend", "summer", "the concert", "your wedding", "the holidays", "Friday"),
    "holiday": ("weekend", "holiday", "trip", "birthday", "day", "Christmas", "summer"),
    "good_news": (
        "I got the job", "we're engaged", "she said yes", "the tests came back clear", "we got the house",
        "I passed", "we won", "the puppy is coming home today",
    ),
    "meal": ("pizza", "pasta", "coffee", "burger", "breakfast", "curry", "cake"),
    "clock": ("six", "seven thirty", "noon", "half past two", "eight", "quarter to nine", "ten"),
    "meeting": ("meeting", "dentist appointment", "practice", "call", "exam", "book club", "match"),
    "fact": (
        "the museum is free on Sundays", "the library opens late on Thursdays", "they're repaving the main road",
        "the train has a new timetable", "the bakery changed owners", "the pool is closed for repairs",
        "they're building a school on that lot", "the next season comes out in spring",
    ),
    "media": (
        "the book", "the first season", "the sequel", "the trailer", "the original", "the podcast", "the article",
        "the video", "the documentary", "the interview", "the last episode", "the manual",
    ),
    "subject": (
        "the timing", "the budget", "the weather", "the schedule", "the price", "the rules", "the location",
        "who's going", "the traffic", "how busy it is",
    ),
    "room": ("kitchen", "garage", "hallway", "car", "basement", "spare room", "office"),
    "grocery": ("milk", "bread", "eggs", "coffee", "rice", "bananas", "dish soap", "onions"),
    "team": ("the Eagles", "Madrid", "a team in Texas", "the home side", "the Lions", "a club in Italy"),
    "season": ("spring", "summer", "autumn", "winter"),
    "lost_one": ("my grandma", "him", "her", "my old dog", "the old days", "my friends from school", "home", "my dad"),
    "regret": (
        "called her more", "said goodbye", "told him how I felt", "listened to you", "been there",
        "studied harder", "visited more often",
    ),
    "pet": ("Max", "Bella", "the old cat", "our dog", "Biscuit", "the little guy"),
    "odd_act": (
        "put pineapple on that", "move to the middle of nowhere", "pay that much for a sandwich",
        "wear a suit to the beach", "learn to juggle", "paint the whole house purple",
    ),
}

# Per-emotion situation vocabulary, shared by every split like the explicit words. The split-assigned
# `SITUATIONS` templates put it into sentences, so a held-out dialogue meets familiar emotional content (a loss, an
# offence, something rotten) in sentence structures and situations it was not trained on.
SITUATION_SLOTS = {
    "person": ("{friend}", "{coworker}", "{boss}", "{relative}", "{name}"),
    "offense": (
        "lied to my face", "went behind my back", "took credit for my work", "blamed me for their own mistake",
        "read my private messages", "cancelled on me at the last minute", "cut me off in traffic",
        "ignored every one of my calls", "broke a promise they made me", "talked over me the whole meeting",
        "charged me twice and refused a refund", "threw my things out without asking",
        "made fun of me in front of everyone", "kept me waiting for two hours", "insulted my family",
        "scratched my car and drove off", "gave my spot away", "spread rumours about me",
    ),
    "showoff": (
        "bragged about their salary again", "called themselves a visionary", "pretended to be a wine expert",
        "lectured everyone about hustle culture", "name-dropped their famous cousin",
        "posted another gym selfie with a quote about grinding", "explained my own job to me",
        "acted like they invented the idea", "complained about people who fly economy",
        "wore sunglasses indoors all night", "corrected everyone's pronunciation",
        "talked about their startup for an hour", "called reading a book a personality trait",
        "asked if I even know what a spreadsheet is",
    ),
    "gross": (
        "a clump of hair", "green fuzzy mould", "a dead cockroach", "a pile of maggots", "someone's used tissue",
        "a puddle of vomit", "toenail clippings", "a slimy film", "rotting meat", "a half-eaten rat",
        "sticky brown goo", "a used bandage", "curdled milk", "a swarm of fruit flies",
    ),
    "dirty_place": (
        "the office fridge", "my sandwich", "the shared bathroom", "the bus seat", "the kitchen sink",
        "the hotel bed", "my salad", "the gym shower", "the back of the cupboard", "the water cooler",
    ),
    "immoral": (
        "cheated on their partner for years", "scammed elderly people out of their savings",
        "faked a sick kid to get donations", "kicked a stray dog for fun", "sold expired food on purpose",
        "stole tips from the waiters", "harassed the new intern", "lied about a dead relative to skip work",
    ),
    "threat": (
        "someone is following me", "there's someone outside my window", "my chest keeps hurting",
        "the doctor wants to run more tests", "there's smoke coming from the building next door",
        "my daughter hasn't come home yet", "someone broke into the car next to mine", "the brakes feel wrong",
        "the storm is getting worse", "my bank account was emptied overnight", "the lump is getting bigger",
        "someone keeps calling and hanging up", "the layoffs start tomorrow", "the test results came back unclear",
    ),
    "worry": (
        "the biopsy results", "the letter from the lawyer", "news from the hospital", "the layoff list",
        "the police report", "the scan results", "a call back from the doctor", "the court decision",
    ),
    "win": (
        "I got the scholarship", "we're having a baby", "I passed the bar exam", "my offer on the house was accepted",
        "I got engaged", "my book is getting published", "we won the championship", "I'm finally debt free",
        "my best friend is moving back to town", "the surgery went perfectly", "I got into my first-choice school",
        "my paintings sold out", "I got my dream internship", "my little brother graduated",
    ),
    "loss": (
        "my grandma passed away", "my dog died", "my best friend moved away", "my partner broke up with me",
        "we lost the baby", "my dad went into hospice", "my closest friend stopped talking to me",
        "I got rejected from every job", "my childhood home was sold", "my cat never came home",
        "my marriage is falling apart", "the friend group stopped inviting me", "my grandpa forgot my name",
    ),
    "twist": (
        "my boss is my neighbour's sister", "my parents secretly got remarried", "my quiet coworker is a famous DJ",
        "the house we rented has a hidden room", "my brother has been living in Japan for a year",
        "I won a car in a raffle I don't remember entering", "my old teacher is now my landlord",
        "my favourite band is playing in our tiny town", "my grandma has a million followers online",
        "my flight got upgraded to first class", "my ex is dating my cousin", "the company gave everyone a bonus",
    ),
    "errand": (
        "I need to pick up the dry cleaning", "I'm returning the library books", "I have to renew my license",
        "I'm meeting the plumber at four", "I'm taking the car in for an oil change", "I'm sorting the recycling",
        "the package should come tomorrow", "the meeting is at ten", "I'm making soup for dinner",
        "I'm going to the post office", "the train leaves at six", "I'm updating my calendar",
    ),
}

# Explicit emotion words at graded intensity. Single words take an intensity modifier; phrases are used as they are.
EXPLICIT = {
    "anger": {
        "low": ("annoyed", "irritated", "bothered", "ticked off", "frustrated", "cross"),
        "mid": ("angry", "mad", "pissed off", "fed up", "upset", "worked up", "heated"),
        "high": ("furious", "livid", "seething", "enraged", "fuming", "beyond angry", "ready to explode"),
    },
    "contempt": {
        "low": ("unimpressed", "a little embarrassed for them", "over it", "skeptical"),
        "mid": (
            "so over them", "done with their nonsense", "tired of their act", "embarrassed for them", "unimpressed",
        ),
        "high": (
            "completely done with them", "beyond unimpressed", "honestly embarrassed for them", "sick of their act",
        ),
    },
    "disgust": {
        "low": ("grossed out", "put off", "icked out", "queasy"),
        "mid": ("disgusted", "repulsed", "nauseous", "sick to my stomach", "revolted"),
        "high": ("sickened", "completely grossed out", "absolutely disgusted", "physically ill", "revolted"),
    },
    "fear": {
        "low": ("uneasy", "nervous", "worried", "on edge", "jittery", "tense"),
        "mid": ("scared", "afraid", "anxious", "frightened", "freaked out", "shaken"),
        "high": ("terrified", "petrified", "panicking", "scared to death", "in full panic mode", "horrified"),
    },
    "happy": {
        "low": ("pleased", "glad", "content", "in a good mood", "cheerful"),
        "mid": ("happy", "excited", "delighted", "stoked", "really happy", "grateful"),
        "high": ("thrilled", "overjoyed", "ecstatic", "over the moon", "on cloud nine", "beyond happy"),
    },
    "neutral": {
        "low": ("fine", "okay", "alright", "pretty normal", "not bad"),
        "mid": ("fine", "okay", "calm", "the same as always", "alright"),
        "high": ("fine", "completely fine", "all good", "totally okay", "settled"),
    },
    "sad": {
        "low": ("a bit down", "blue", "low", "bummed", "down"),
        "mid": ("sad", "upset", "hurt", "gutted", "lonely", "unhappy"),
        "high": ("heartbroken", "devastated", "crushed", "miserable", "shattered", "completely broken"),
    },
    "surprise": {
        "low": ("surprised", "caught off guard", "puzzled", "startled"),
        "mid": ("shocked", "stunned", "amazed", "taken aback", "astonished"),
        "high": ("floored", "speechless", "completely blown away", "gobsmacked", "in total shock"),
    },
}

# Verdict adjectives per emotion ("this is {judge}"): how people sum up something they react to.
JUDGEMENTS = {
    "anger": ("ridiculous", "unacceptable", "infuriating", "so annoying", "stupid", "outrageous", "insulting"),
    "contempt": ("pathetic", "laughable", "embarrassing", "cringe", "sad, really", "beneath me"),
    "disgust": ("disgusting", "gross", "nasty", "vile", "revolting", "sickening", "foul", "repulsive"),
    "fear": ("terrifying", "scary", "creepy", "frightening", "nerve-racking", "horrifying", "chilling"),
    "happy": ("amazing", "awesome", "wonderful", "hilarious", "adorable", "beautiful", "perfect", "great"),
    "neutral": ("fine", "standard", "normal", "about right", "the usual"),
    "sad": ("heartbreaking", "depressing", "so sad", "awful", "devastating", "tragic"),
    "surprise": ("unexpected", "wild", "unreal", "insane", "mind-blowing", "crazy", "incredible"),
}

INTENSITY_MODIFIERS = {
    "low": ("kind of", "a bit", "a little", "sort of", "somewhat", "slightly", ""),
    "mid": ("", "really", "so", "pretty", "very", "genuinely"),
    "high": ("", "absolutely", "completely", "totally", "so", "seriously"),
}

# Hedges appended to a turn; the empty string keeps most turns unhedged.
TAILS = (
    "", "", "", ", I guess", ", I think", ", honestly", ", if I'm being honest", ", to be fair", ", I don't know",
    ", for real",
)

INTERJECTIONS = {
    "anger": ("Ugh.", "Seriously?", "Unbelievable.", "Are you kidding me?", "Come on.", "Oh, for crying out loud."),
    "contempt": ("Pfft.", "Oh please.", "Typical.", "Yeah, right.", "Wow. Just wow.", "Classic."),
    "disgust": ("Ew.", "Gross.", "Yuck.", "Eugh.", "Ew, ew, ew.", "Blegh."),
    "fear": ("Oh god.", "Oh no.", "Help.", "Oh no, oh no.", "Please no.", "Okay, okay."),
    "happy": ("Yay!", "Woohoo!", "Yes!", "Guess what!", "Best news ever!", "Ahh!"),
    "neutral": ("Hm.", "Okay.", "So.", "Yeah.", "Alright.", "Right."),
    "sad": ("Sigh.", "Yeah...", "Well.", "I don't know...", "Hey.", "Ah."),
    "surprise": ("Whoa!", "Wait, what?", "No way!", "Oh my god!", "Huh!", "Wow!"),
}

# Markers the online register tacks onto a turn.
ONLINE_TAGS = {
    "anger": (" smh", " ffs", " ugh", " >:("),
    "contempt": (" lol", " smh", " cringe", " 🙄"),
    "disgust": (" ew", " ewww", " yikes", " 🤢"),
    "fear": (" ngl", " pls", " help", " 😰"),
    "happy": (" :)", " lol", " yay", " !!", " 🎉"),
    "neutral": (" lol", " btw", " tbh", ""),
    "sad": (" :(", " ngl", " tbh", " 😢"),
    "surprise": (" omg", " lmao", " !!", " 😮"),
}

# ----------------------------------------------------------------------------------------------------------------
# Focal-speaker sentence frames, grouped by the emotions they suit
# ----------------------------------------------------------------------------------------------------------------

# group -> (emotions it suits, frames). Every frame of the first turn carries at least one emotional cue.
ALL = ("anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")
EXPRESSIVE = tuple(emotion for emotion in ALL if emotion != "neutral")
NEGATIVE = ("anger", "contempt", "disgust", "fear", "sad")
NEWS = ("anger", "contempt", "disgust", "happy", "surprise")
UPBEAT = ("happy", "surprise")
SUBDUED = ("neutral", "sad", "contempt")

FRAMES = {
    "any": (ALL, (
        "I'm {feel}. {event}.",
        "{event}, and I'm {feel}{tail}.",
        "{event}. {appraisal}",
        "{time}, {event}. {appraisal}",
        "So {event}. I'm {feel}{tail}.",
        "I feel {feel} because {event}.",
        "{event}. {action}.",
        "{interj} {event}.",
        "Honestly? {appraisal}",
        "{event}. I'm {feel}, to be honest.",
        "Well, {event}.",
        "{other}, {event}. {appraisal}",
        "I'm {feel}{tail}. {appraisal}",
        "Okay so {event}. {interj}",
        "{interj} I'm {feel}.",
        "Update: {event}.",
    )),
    "expressive": (EXPRESSIVE, (
        "{body}. {event}.",
        "{time}, {event}. {body}.",
        "Ever since {event}, {body}.",
        "Okay so {event} and {body}.",
        "{event}. {body}. {appraisal}",
        "Not gonna lie, I'm {feel}. {event}.",
        "I need to tell someone: {event}.",
        "{body} and I can't shake it. {event}.",
        "Still processing this. {event}.",
        "{event}... {body}.",
        "{appraisal} {event}.",
        "I've been {feel} since {event}.",
        "{interj} {body}.",
    )),
    "negative": (NEGATIVE, (
        "Can I vent for a sec? {event}.",
        "It's been a day. {event}.",
        "{event}, and I just can't. {appraisal}",
        "I'm trying to stay calm but {event}.",
        "Rough one today. {event}.",
    )),
    "news": (NEWS, (
        "You won't believe this, {event}.",
        "{event}, can you believe it?",
        "Listen to this: {event}.",
        "{other}! {event}!",
        "Okay, you have to hear this. {event}.",
    )),
    "subdued": (SUBDUED, (
        "Not much to say, {event}. {appraisal}",
        "Nothing exciting. {event}.",
        "Same old, same old. {event}.",
        "Eh. {event}.",
        "Oh, nothing. {event}, that's all.",
    )),
    "upbeat": (UPBEAT, (
        "Guess what? {event}!",
        "Big news: {event}!",
        "{interj} {event}!",
        "You're not going to believe it, {event}!",
    )),
}

CONTINUATIONS = {
    "any": (ALL, (
        "{appraisal}",
        "Yeah. {appraisal}",
        "{action}.",
        "I'm just {feel}.",
        "I don't know, I'm {feel}{tail}.",
        "I think I'm {feel}.",
        "{action}. {appraisal}",
        "It's just that {event}.",
        "I mean, {appraisal_lc}",
        "Right. {action}.",
    )),
    "expressive": (EXPRESSIVE, (
        "{body}.",
        "Honestly, {body}.",
        "Like, {body}.",
        "{interj} {appraisal}",
        "Right? {body}.",
        "It's just... {appraisal_lc}",
        "I'm still {feel}{tail}.",
        "Yeah, {body}. {appraisal}",
    )),
}

# Focal turns that carry no emotion: real conversations drift.
FILLERS = {
    "any": (ALL, (
        "Anyway.",
        "Long story.",
        "Yeah, that's about it.",
        "Hang on, someone's at the door.",
        "Anyway, what's new with you?",
        "Let me grab a coffee first.",
        "Sorry, my phone's about to die.",
        "I'll tell you the rest later.",
        "Wait, are you still at work?",
        "Give me a second.",
    )),
}

# ----------------------------------------------------------------------------------------------------------------
# Situations and appraisals per emotion (templates), bodily reactions and action tendencies (shared vocabulary)
# ----------------------------------------------------------------------------------------------------------------

EVENTS = {
    "anger": {
        "casual": (
            "{friend} borrowed my {thing} and brought it back broken",
            "{name} cancelled on me an hour before {social}, again",
            "someone keyed my car in the parking lot",
            "the guy upstairs has been blasting music until three in the morning all week",
            "{friend} told everyone the thing I asked them to keep quiet",
            "the mechanic charged me {money} for a repair they never did",
            "{name} showed up forty minutes late and didn't even apologise",
            "my landlord kept my deposit for damage that was already there",
            "a driver cut me off and then yelled at me like it was my fault",
        ),
        "work": (
            "{coworker} took credit for my {work_item} in front of the whole team",
            "{boss} moved my deadline up by a week without asking me",
            "{boss} blamed me in the meeting for a mistake {coworker} made",
            "{coworker} keeps booking meetings over my lunch break",
            "they gave the promotion to someone who's been here six months",
            "{coworker} went over my head and emailed {boss} directly",
            "IT wiped my laptop and nobody backed up my files",
            "{boss} rejected my {work_item} without even reading it",
        ),
        "family": (
            "{relative} read my messages without asking",
            "{relative} invited my ex to {social} without telling me",
            "my brother took my car again and left the tank empty",
            "{relative} made fun of my job in front of everyone at dinner",
            "{relative} promised to help with the move and never showed up",
            "my parents gave away my old things without asking me",
            "{relative} keeps telling the whole family my business",
        ),
        "online": (
            "someone stole my photos and posted them as their own",
            "the seller sent me a broken {thing} and now they're ignoring my messages",
            "a random guy in the comments called me an idiot for no reason",
            "my account got banned for something I didn't even do",
            "{name} screenshotted our private chat and sent it to the group",
            "the airline cancelled my flight and the support chat just keeps looping",
            "someone in the group chat keeps deleting my messages",
        ),
    },
    "contempt": {
        "casual": (
            "{name} spent the whole night bragging about their crypto gains",
            "{friend} corrected my grammar while misspelling half their own texts",
            "{name} calls themselves an entrepreneur because they resell sneakers",
            "{name} pretended to have read the book everyone was talking about",
            "{friend} rented a sports car to impress people they don't even like",
            "{name} name-dropped a celebrity they met once, for the fifth time",
            "{name} said people who take the bus just haven't tried hard enough",
        ),
        "work": (
            "{coworker} presented my idea like it was theirs and still got it wrong",
            "{boss} gave a forty-minute speech about synergy and said nothing",
            "{coworker} asked me to explain spreadsheets again, the so-called senior analyst",
            "the consultant they hired charged a fortune to tell us what we already knew",
            "{coworker} sent an all-staff email congratulating themselves",
            "{boss} scheduled a meeting to discuss having fewer meetings",
            "{coworker} acted like an expert on a project they joined yesterday",
        ),
        "family": (
            "{relative} lectured everyone about healthy eating with a cigarette in hand",
            "{relative} asked when I'm getting a real job, again",
            "my cousin posted a fake vacation photo from his backyard",
            "{relative} bragged about the new car they can't afford",
            "{relative} explained my own field to me at dinner",
            "{relative} called my art a cute little hobby",
            "my uncle shared another conspiracy video in the family chat",
        ),
        "online": (
            "an influencer is selling a course on getting rich by selling courses",
            "{name} posted a humble brag about their third vacation this month",
            "some guy on the forum quoted a made-up statistic and called everyone sheep",
            "a stranger left a one-star review because the bakery didn't sell pizza",
            "{name} replied do your own research to an actual study",
            "someone bought followers and then gave a talk on authenticity",
            "a self-proclaimed life coach told me I just need to wake up at four every morning",
        ),
    },
    "disgust": {
        "casual": (
            "I found a hair baked into my {food}",
            "the milk I just drank was two weeks past its date",
            "someone on the train clipped their toenails right next to me",
            "I stepped in something warm and squishy on the way home",
            "the bathroom at {place} hadn't been cleaned in days",
            "there were maggots in the trash can outside my door",
            "my roommate left raw chicken on the counter all weekend",
            "the guy next to me at the gym didn't wipe anything down and he was drenched",
        ),
        "work": (
            "someone left mouldy {food} in the office fridge for a month",
            "{coworker} chews with their mouth open at every single lunch",
            "the office microwave is caked with something green",
            "{coworker} sneezed right onto the shared keyboard",
            "I found out {boss} has been faking the safety reports",
            "the break room sink is full of dishes with fuzz growing on them",
            "{coworker} cleaned their ears with a pen during the meeting",
        ),
        "family": (
            "{relative} used my toothbrush and put it back",
            "my brother left his sweaty gym socks in the laundry for a week",
            "the dog threw up in my shoes",
            "{relative} served leftovers that had clearly gone bad",
            "my uncle told a story at dinner that I can never unhear",
            "I found out {relative} cheated on their partner for years",
            "the cat dragged a half-eaten mouse into the kitchen",
        ),
        "online": (
            "I clicked on a video and it was someone popping a giant cyst",
            "a restaurant I love got caught reusing food from people's plates",
            "someone posted a close-up of a foot infection in the group chat",
            "I read about a guy who sold expired baby formula to save money",
            "a review said they found a cockroach in the salad at our favourite place",
            "someone on the forum was bragging about scamming elderly people",
        ),
    },
    "fear": {
        "casual": (
            "I heard footsteps behind me all the way from the bus stop",
            "someone tried to open my front door at two in the morning",
            "my car's brakes started grinding on the highway",
            "I got lost on a hike and my phone died",
            "a stranger followed me through three aisles at {place}",
            "there was a weird smell of gas in the apartment",
            "the plane dropped suddenly and people screamed",
        ),
        "work": (
            "{boss} asked to see me first thing tomorrow with no explanation",
            "they announced layoffs and my whole team is under review",
            "I think I sent the confidential {work_item} to the wrong client",
            "HR booked a meeting with me and won't say what it's about",
            "I have to present the {work_item} to the board tomorrow and I'm not ready",
            "the audit starts Monday and the numbers don't add up",
            "my contract ends next month and nobody has mentioned renewing it",
        ),
        "family": (
            "the doctor called and asked my dad to come in to talk about his scans",
            "my little brother hasn't answered his phone since last night",
            "mom found a lump and has to get a biopsy",
            "{relative} was taken to the hospital in an ambulance",
            "my sister's flight lost contact for an hour",
            "our basement started flooding during the storm",
            "grandpa fell and nobody found him for hours",
        ),
        "online": (
            "I got an email saying someone logged into my bank account from another country",
            "someone posted my home address in the comments",
            "my ex made a new account just to message me",
            "I got a text saying there's a warrant out for me",
            "someone says they have my private photos and wants money",
            "my account got hacked and it's messaging everyone I know",
        ),
    },
    "happy": {
        "casual": (
            "I finally finished my first half marathon",
            "{friend} surprised me with tickets to {show}",
            "I got the apartment I wanted",
            "my sister just had a baby girl",
            "we adopted a puppy this morning",
            "I passed my driving test on the first try",
            "I ran into my favourite teacher and she remembered me",
            "the whole gang is finally getting together for {social}",
        ),
        "work": (
            "I got the job",
            "{boss} said my {work_item} was the best they'd seen all year",
            "I got the promotion I've been working toward for two years",
            "the client signed and they want to work with us again",
            "our team launched the {work_item} and the feedback is amazing",
            "I got a raise without even asking for one",
            "my proposal got approved and I get to lead it",
        ),
        "family": (
            "my parents are coming to visit for the holidays",
            "{relative} got into their dream school",
            "grandma's test results came back clear",
            "my brother is getting married and asked me to give the toast",
            "we finally paid off the house",
            "dad finally retired and we're taking him on a trip",
            "the whole family made it home for dinner for the first time in years",
        ),
        "online": (
            "my post blew up and people are loving my art",
            "I won the giveaway I entered as a joke",
            "a stranger messaged to say my video helped them through a hard time",
            "my little shop got its hundredth order",
            "I finally hit my fundraising goal",
            "my favourite author replied to my comment",
        ),
    },
    "neutral": {
        "casual": (
            "I'm heading to {place} in a bit",
            "I just got back from the gym",
            "the bus was a few minutes late, as usual",
            "I'm doing laundry and then probably making pasta",
            "I picked up groceries on the way home",
            "I'm watching the second season of that show",
            "the weather's supposed to be cloudy all week",
        ),
        "work": (
            "the meeting got moved to {day}",
            "I sent the {work_item} over to {coworker} for review",
            "I'm working from home tomorrow",
            "{boss} wants the {work_item} in the usual format",
            "I spent the afternoon updating the spreadsheet",
            "the new printer is on the second floor now",
            "I have two calls this afternoon and then I'm done",
        ),
        "family": (
            "mom asked if we're still coming on {day}",
            "I dropped the kids off at practice",
            "{relative} is picking up the cake on the way",
            "dad fixed the fence this weekend",
            "we're having leftovers tonight",
            "I called grandma to confirm the time",
        ),
        "online": (
            "I updated my profile picture",
            "I ordered a phone case and it should arrive {day}",
            "I'm just scrolling through my feed",
            "I changed my password like the email said",
            "the stream starts at eight",
            "I joined the book club's group chat",
        ),
    },
    "sad": {
        "casual": (
            "my dog passed away last night",
            "{friend} is moving across the country next week",
            "I didn't get into the program I applied for",
            "my best friend and I haven't talked in months",
            "I found an old voicemail from my grandpa",
            "I spent my birthday alone this year",
            "the bakery where we used to go closed for good",
        ),
        "work": (
            "they let go of {coworker}, my closest friend at work",
            "I got passed over again and I don't even know why",
            "the project I spent a year on got cancelled",
            "I got laid off this morning",
            "I messed up the presentation and everyone saw it",
            "nobody showed up to my going-away lunch",
        ),
        "family": (
            "grandma passed away on {day}",
            "my parents told us they're getting divorced",
            "{relative} is too sick to travel for the holidays",
            "we had to sell the house I grew up in",
            "dad forgot my birthday again",
            "my sister and I had a fight and she's not speaking to me",
        ),
        "online": (
            "my old friends posted pictures from a trip I wasn't invited on",
            "I lost all my photos when my phone died",
            "the online friend I talked to every day stopped replying",
            "my fundraiser only got two donations",
            "someone left a cruel comment about my weight and I keep rereading it",
        ),
    },
    "surprise": {
        "casual": (
            "{name} showed up at my door after five years",
            "I found {money} in an old jacket",
            "my quiet neighbour turned out to be a famous drummer",
            "the café gave me my order for free for no reason",
            "my friends threw me a party I knew nothing about",
            "it snowed in the middle of {month}",
            "I bumped into my ex's mom at the airport",
        ),
        "work": (
            "{boss} announced they're quitting, effective Friday",
            "the company is being bought out",
            "they moved me to a completely different team overnight",
            "{coworker} turned out to be the CEO's son",
            "the client cancelled the contract after calling it a done deal",
            "they gave everyone the day off with no warning",
        ),
        "family": (
            "my parents announced they're moving to Portugal",
            "{relative} is pregnant with twins",
            "my brother eloped and told us after the fact",
            "I found out I have a half-sister",
            "grandpa signed up for skydiving at eighty",
            "mom dyed her hair bright blue",
        ),
        "online": (
            "a celebrity followed me back out of nowhere",
            "my old video randomly got a million views overnight",
            "the account I've been chatting with turned out to be my cousin",
            "I won an auction I forgot I'd even bid on",
            "my favourite band announced a reunion tour",
        ),
    },
}

# Situation templates over `SITUATION_SLOTS`, any register; split-assigned like `EVENTS`.
SITUATIONS = {
    "anger": (
        "{person} {offense}", "I found out {person} {offense}", "{person} {offense}, again",
        "{person} {offense} and then acted like nothing happened", "for the third time this week, {person} {offense}",
        "{person} {offense} and didn't even say sorry", "I just learned that {person} {offense}",
        "{person} {offense} right in front of me",
    ),
    "contempt": (
        "{person} {showoff}", "of course {person} {showoff}", "{person} {showoff}, as if anyone asked",
        "{person} {showoff} like it's some kind of achievement", "once again {person} {showoff}",
        "{person} {showoff} and expected applause", "at dinner {person} {showoff}",
    ),
    "disgust": (
        "I found {gross} in {dirty_place}", "there was {gross} in {dirty_place}",
        "someone left {gross} in {dirty_place}",
        "I just learned {person} {immoral}", "I almost touched {gross} in {dirty_place}",
        "{person} {immoral} and laughed about it", "I reached into {dirty_place} and felt {gross}",
    ),
    "fear": (
        "I think {threat}", "the thing is, {threat}", "I'm still waiting on {worry}", "{threat} and I'm home alone",
        "I just got a call saying {threat}", "it's late and {threat}", "I can't stop thinking about {worry}",
    ),
    "happy": (
        "I just found out {win}", "after all this time, {win}", "{win} and I can't believe it", "finally, {win}",
        "it's official: {win}", "so {win}", "I've been dying to tell you, {win}",
    ),
    "neutral": (
        "I think {errand}", "so {errand}", "nothing big, {errand}", "{errand}, then home", "today {errand}",
        "after work {errand}", "just so you know, {errand}",
    ),
    "sad": (
        "I just found out {loss}", "{loss} and I don't know what to do", "it's been a week since {loss}",
        "I keep thinking about how {loss}", "{loss}, and everything feels so quiet now", "last night {loss}",
        "it still hasn't sunk in that {loss}",
    ),
    "surprise": (
        "out of nowhere, {twist}", "I just found out {twist}", "turns out {twist}", "{twist}, just like that",
        "nobody told me {twist}", "I only learned today that {twist}", "apparently {twist}",
    ),
}

APPRAISALS = {
    "anger": (
        "That is so not okay.", "Who does that?", "I did everything right and they still screwed me over.",
        "This is the third time this month.", "They didn't even apologise.", "I'm done being the nice one.",
        "How is that fair?", "They knew exactly what they were doing.", "I'm sick of being walked all over.",
        "Nobody gets to treat me like that.", "It's so disrespectful.", "Every single time, it's the same thing.",
        "They had no right.", "I want an explanation, and I want it today.",
    ),
    "contempt": (
        "Some people just can't help themselves.", "What a joke.", "It's honestly embarrassing for them.",
        "I can't take them seriously anymore.", "That's the level we're dealing with.",
        "Not worth a response, honestly.", "They think they're so much smarter than everyone.", "Clown behaviour.",
        "It's almost impressive how little they know.", "Must be nice to be that confident and that wrong.",
        "I expected nothing and I'm still disappointed.", "Bless their heart.", "Imagine being proud of that.",
        "Pathetic, really.",
    ),
    "disgust": (
        "That is so gross.", "I can't unsee it.", "Who lives like that?", "I think I'm going to be sick.",
        "Just thinking about it makes my skin crawl.", "That's revolting.", "I'm never eating there again.",
        "How is that even legal?", "It's vile, honestly.", "People are disgusting sometimes.",
        "I need to bleach my brain.", "There's no excuse for that.", "Nasty. Just nasty.",
        "I'll never look at them the same way.",
    ),
    "fear": (
        "What if it's something serious?", "I don't know what I'll do if it goes wrong.",
        "I keep imagining the worst.", "What if they come back?", "I can't stop thinking about what could happen.",
        "I don't feel safe here anymore.", "Everything could fall apart.", "I have no idea what's coming.",
        "What if I lose everything?", "I'm scared it's my fault.", "Something feels really wrong.",
        "I don't think I can handle this.", "Please let it be nothing.", "I keep checking my phone every minute.",
    ),
    "happy": (
        "All that work finally paid off!", "Best day in ages.", "I honestly can't believe my luck.",
        "Everything is finally coming together.", "I've been waiting for this forever.", "Life is good right now.",
        "This made my whole year.", "I'm so grateful.", "Things are really looking up.",
        "I want to remember this moment.", "It's even better than I imagined.", "We did it!",
        "I keep replaying it in my head.", "Today was a good day.",
    ),
    "neutral": (
        "It is what it is.", "Nothing special, really.", "Pretty standard day.", "No complaints.",
        "Same as usual.", "It's fine either way.", "Nothing much to report.", "We'll see how it goes.",
        "Just the usual routine.", "That's about it.", "Doesn't really matter to me.", "Should be straightforward.",
        "Just checking it off the list.", "Nothing to worry about.",
    ),
    "sad": (
        "I keep thinking it's my fault.", "Nothing feels the same anymore.", "I miss how things used to be.",
        "I don't really know what to do with myself.", "It just feels empty.",
        "I really thought it would work out.", "I keep hoping I'll wake up and it won't be true.",
        "Everything reminds me of it.", "I guess I wasn't good enough.", "It's hard to see the point right now.",
        "I wish I'd said goodbye properly.", "I'm tired of losing people.",
        "It was the one thing I was looking forward to.",
    ),
    "surprise": (
        "I did not see that coming.", "Where did that even come from?", "I'm still trying to wrap my head around it.",
        "Out of nowhere!", "Of all the things to happen today.", "Nobody saw this coming.", "I had no idea.",
        "It came completely out of the blue.", "I had to read it three times.", "Who would have guessed?",
        "That's the last thing I expected.", "I'm honestly speechless.", "Plot twist of the year.",
    ),
}

BODILY = {
    "anger": (
        "my jaw is clenched so hard it hurts", "my face is burning", "I'm literally shaking",
        "I slammed the door without thinking", "my blood is boiling", "I had to walk around the block to cool off",
        "my hands are balled into fists", "I can feel my pulse in my temples",
        "I've been grinding my teeth all afternoon", "I wanted to throw my phone across the room",
    ),
    "contempt": (
        "I rolled my eyes so hard it hurt", "I just smirked", "I couldn't stop shaking my head",
        "I let out the longest sigh", "I gave them a slow clap", "I didn't even look up from my phone",
        "I snorted out loud", "I raised an eyebrow and walked away", "my lip curled before I could stop it",
    ),
    "disgust": (
        "my stomach turned", "I actually gagged", "I can still taste it in the back of my throat",
        "my skin is crawling", "I washed my hands three times", "I lost my appetite completely",
        "I had to step outside for air", "I felt queasy for an hour", "my nose wrinkled on its own", "I shuddered",
    ),
    "fear": (
        "my heart is pounding", "my hands went ice cold", "I can't breathe properly", "I haven't slept at all",
        "my stomach is in knots", "I froze", "I keep jumping at every sound", "my legs are still shaking",
        "I feel dizzy", "I broke out in a cold sweat",
    ),
    "happy": (
        "I can't stop smiling", "I'm literally bouncing around the kitchen", "I screamed into a pillow",
        "I did a little dance in the hallway", "my cheeks hurt from grinning", "I teared up in the best way",
        "I jumped up and down like a kid", "I've been humming all day", "I laughed the whole way home",
    ),
    "neutral": (
        "I'm just sitting here with my coffee", "I'm on the couch", "I'm half watching the TV",
        "I'm eating lunch at my desk", "I'm waiting for the kettle", "I'm folding laundry",
        "I'm walking to the bus stop", "I'm sitting in the car outside",
    ),
    "sad": (
        "I cried in the car for twenty minutes", "my chest feels heavy", "I haven't eaten since yesterday",
        "I can't get out of bed", "my eyes are still puffy", "there's a lump in my throat",
        "I keep tearing up at random", "I feel completely drained", "I just stared at the wall for an hour",
        "I've been sleeping all day",
    ),
    "surprise": (
        "my jaw dropped", "I did a double take", "I almost dropped my phone", "I had to sit down",
        "I gasped out loud", "I laughed out of pure shock", "I stared at the screen for a full minute",
        "my eyebrows went straight up", "I spat out my coffee",
    ),
}

ACTIONS = {
    "anger": (
        "I want to scream", "I'm about to march into their office", "I'm writing a very strongly worded email",
        "I'm not letting this go", "I need to punch a pillow", "I'm going to give them a piece of my mind",
        "I told them exactly what I think", "I'm seriously thinking about quitting over this",
    ),
    "contempt": (
        "I'm not even going to dignify that with a response", "I just walked away", "I muted them",
        "I'm not wasting my breath", "I let them keep talking so everyone could hear it",
        "I'm done pretending to be impressed",
    ),
    "disgust": (
        "I threw the whole thing in the trash", "I scrubbed everything with bleach", "I spat it right out",
        "I'm never touching that again", "I blocked them immediately", "I had to leave the room",
    ),
    "fear": (
        "I want to hide under the covers", "I locked every door twice",
        "I called my sister to stay on the phone with me", "I keep refreshing my email",
        "I'm too scared to open the letter", "I'm sleeping with the lights on", "I almost called the police",
    ),
    "happy": (
        "I want to tell everyone", "I'm buying cake for the whole office", "I called my mom right away",
        "we're going out to celebrate tonight", "I already booked the restaurant", "I took a hundred pictures",
    ),
    "neutral": (
        "I'll deal with it tomorrow", "I'll probably just make pasta tonight",
        "I'm going to finish this episode and sleep", "I'll send the file after lunch",
        "I'll pick it up on the way home", "I'll check again later",
    ),
    "sad": (
        "I just want to stay in bed", "I've been looking at old photos all night",
        "I skipped practice because I couldn't face anyone", "I keep listening to our song",
        "I cancelled all my plans", "I don't want to talk to anyone",
    ),
    "surprise": (
        "I called three people to make sure it was real", "I checked the date to make sure it wasn't a prank",
        "I reread the message like ten times", "I stopped in the middle of the street",
        "I screenshotted it right away",
    ),
}

# ----------------------------------------------------------------------------------------------------------------
# Remarks: short, everyday lines that carry an emotion the way people actually say it (templates)
# ----------------------------------------------------------------------------------------------------------------

# Real emotional talk is mostly short, indirect and reactive: an interjection, a verdict on something someone did,
# a question, a thank-you, a worry about what comes next. The emotion words sit in many different frames, and
# "neutral" is ordinary talk about plans, facts and opinions rather than a report of feeling nothing. Each line is
# a split-assigned template; `{judge}` (a verdict adjective) and `{interj}` come from the shared vocabulary.
REMARKS = {
    "anger": (
        "Are you kidding me right now?", "{interj} This is {judge}.", "Stop. Just stop.",
        "I swear, if {person} does that one more time...", "Don't tell me to calm down.",
        "That's not what I said and you know it.", "What is wrong with people?", "I'm so sick of this.",
        "Who thought {topic} was a good idea?", "No. Absolutely not.", "You had one job.", "Thanks for nothing.",
        "I hate it when people {annoyance}.", "It drives me up the wall when {person} {annoyance}.",
        "How hard is it to {basic_task}?", "That's {judge} and you know it.", "Nobody asked you.",
        "Oh, for god's sake.", "This is exactly why I don't trust {person}.", "Screw this.",
        "I'm done being nice about it.", "Keep your opinions to yourself.", "What the hell was that?",
        "Don't you dare.", "Every. Single. Time.", "I told you not to touch my {thing}!",
        "They just don't care, do they?", "Yeah, no. That's not okay.", "Don't even get me started on {topic}.",
        "That makes me so mad.", "Worst customer service ever.", "This is such a waste of my time.",
        "You're not listening to me!", "Again? Are you serious?", "Honestly, I'm {feel} right now.",
        "Why is it so hard to {basic_task}?", "What a stupid rule.", "Dude, really? You {annoyance}?",
        "{person} {offense} and I'm supposed to just smile?", "Get your hands off my {thing}.",
        "I'm not asking again.", "That ref should be fired.", "Unbelievable. Absolutely {judge}.",
        "Do not talk to me like that.", "I've had it with {topic}.", "Can you not?",
        "This is the last time I {favour} for anyone.", "Why do I even bother?",
        "That's not true and you know it.", "No, that's just wrong.", "That's a terrible take.",
        "That is not how any of this works.", "This is a bad idea and everyone knows it.", "Stop making excuses.",
        "Quit whining and fix it.", "You don't get to decide that.", "That's a lie.", "Who even asked for this?",
        "Stop blaming everyone else.", "I don't care what he says, it's wrong.", "How is that allowed?",
        "They should be ashamed of themselves.", "That was a dirty play and the ref did nothing.",
        "Enough already.", "Give me a break, seriously.", "Nope. Not okay.", "Don't be a jerk about it.",
        "I disagree, and it's not even close.", "Ugh, shut up about it already.", "Leave me alone.",
        "I'm so tired of people who {annoyance}.", "Why does {topic} keep breaking?", "I've been on hold for an hour.",
        "The {thing} stopped working again. Great.", "They cancelled it without telling anyone.",
        "Now I have to redo the whole {work_item}.", "He never listens, it's so frustrating.",
        "This is so frustrating.", "Stop acting like you didn't know.", "You always do this.", "Don't lecture me.",
        "That's none of your business.", "Just answer the question.", "I hate this stupid {thing}.",
        "That's a garbage excuse.", "Oh, come on, that's so unfair.", "Fix it already, it's been months.",
        "I'm annoyed, honestly.", "It's so annoying when {person} does that.", "Stop interrupting me.",
    ),
    "contempt": (
        "Sure, buddy.", "Oh please, like that's going to work.", "Cute. Real cute.",
        "Imagine thinking that's impressive.", "{interj} Typical {name}.", "That's {judge}, honestly.",
        "Wow, what a genius.", "Some people just love the sound of their own voice.", "As if anyone cares.",
        "Okay, Mr. Expert.", "He thinks he's so smart.", "Whatever helps you sleep at night.",
        "Not even worth arguing with.", "How embarrassing for them.", "Spare me.", "Yeah, real mature.",
        "They'll never learn.", "Of course {person} {showoff}.", "Look who finally showed up.",
        "Bold of you to assume I care.", "I've seen toddlers with better manners.", "Riveting stuff, really.",
        "Must be exhausting being that important.", "And they wonder why nobody invites them.",
        "Oh look, another expert.", "Nobody's impressed, {name}.", "Try harder next time, maybe.",
        "That's the best they could come up with?", "Wow, groundbreaking.", "He'd sell his own mother for a like.",
        "She acts like she's better than everyone.", "I wouldn't expect anything more from {person}.",
        "How original. Truly.", "Must be nice to never be wrong.", "Let me guess, it's someone else's fault again.",
        "Call me when you've done something real.", "Oh, he's a genius now? Sure.",
        "Big talk for someone who {showoff}.",
        "That's cute, but no.", "Amateurs.", "Some people never grow up.", "Who raised these people?",
        "I can't take him seriously anymore.", "Please. Like you'd know.", "Nice try.", "Keep telling yourself that.",
    ),
    "disgust": (
        "Ew, {gross}? That's {judge}.", "{interj} That's {judge}.", "That's honestly {judge}.", "Gross. Just gross.",
        "I think I'm going to throw up.", "That's the most disgusting thing I've ever seen.",
        "People who {vile} make me sick.", "There's {gross} in {dirty_place}. {interj}", "That smell is {judge}.",
        "Absolutely vile, it's covered in slime.", "What kind of person {immoral}? Sick.", "That's nasty, man.",
        "Yuck, it's all slimy.", "Did you just {gross_act}? Ew.", "The fact that {person} {immoral} is {judge}.",
        "{gross} everywhere. I gagged.", "That's beyond gross.", "Eww, why is it sticky?",
        "Who licks a doorknob? That's {judge}.", "Put it in the bin, it's {judge}.", "Nope, that's {judge}. I'm out.",
        "Seeing {gross} in {dirty_place} ruined my whole day.", "Please tell me that's not {gross}.", "Ew, no.",
        "That's just gross, wipe it off.", "That's repulsive.", "Eww, he licked it.",
        "Nasty. Wash that before you touch anything.", "That's creepy and gross.", "I gagged a little.",
        "That's the grossest thing I've heard all week.", "Vile. Just vile.", "Ew, what a disgusting smell.",
        "Ew ew ew, get it off.", "The bathroom there is disgusting.", "Gross, it's got mould on it.",
        "I'm repulsed, honestly.", "Ew, it smells like {smell} in here.",
        "Gross, someone left {gross} in {dirty_place}.", "Yuck, don't make me look at it.",
        "Ugh, that's disgusting. Who would do that?", "Ew, get it away from me.", "Nasty. I'm going to be sick.",
        "Disgusting, honestly. {person} {immoral}.",
        "Ew, the milk's gone chunky.", "Gross, there's a hair in my {food}.",
        "The bin is full of maggots. I'm gagging.",
        "Ew, the cat threw up on my bed.", "Gross, it smells like something died in here.",
        "Ugh, the drain is clogged with hair. Gross.",
        "Eww, it's still warm. Gross.", "He chews with his mouth open, it's so gross.",
        "Yuck, the fridge smells rotten.",
        "I just stepped in something squishy. Ew.", "Gross, somebody spat gum on the seat.",
        "That's disgusting, he didn't even wash his hands.", "The toilets at {place} are filthy. Vile.",
        "Ew, there's a bug in my {food}!", "That's a disgusting habit.", "I can still taste it. Blegh, gross.",
    ),
    "fear": (
        "I'm so nervous about {worry_future}.", "What if {threat}?", "That's {judge}.",
        "{interj} I don't like this.", "I have a really bad feeling about this.", "Please tell me you're okay.",
        "I can't stop shaking.", "I'm scared to {scary_act}.", "I'm scared something happened to {person}.",
        "My heart is pounding.", "What was that noise?", "I'm freaking out a little.",
        "I'm dreading {worry_future}.", "Don't leave me alone here.", "I'm terrified of {phobia}.",
        "This gives me the creeps.", "Are you sure it's safe?", "I'm worried sick about {person}.",
        "Oh god, what if they find out?", "I didn't sleep, I'm so anxious.",
        "That's the scariest thing I've heard in a long time.", "Please don't make me go in there.",
        "I keep thinking something bad is going to happen.", "Stay close, okay?", "Something's not right.",
        "I'm panicking a bit.", "That could have killed you.", "{phobia} scare me to death.",
        "Nervous doesn't even cover it.", "I'm scared it's something serious.", "What if I fail?",
        "I'm {feel} about {worry_future}.", "Honestly, I'm {feel}.", "I'm afraid it's going to get worse.",
        "Every time the phone rings I jump.", "I don't want to be alone tonight.",
        "That was way too close.", "I'm too scared to even look.", "Is someone there?",
        "I'm so scared for them.", "My hands won't stop sweating.", "What if it happens again?",
        "I'm nervous, what if they say no?", "This is scary.", "I'm so anxious right now.", "Yikes, that's scary.",
        "I'm terrified it's something bad.", "I'm scared it won't work.", "That's really creepy.",
        "I'm shaking just reading this.", "I'm worried it's too late.", "Oh god, please be careful.",
        "I'm not ready, I'm freaking out.", "It's scary how fast it spread.", "I'm afraid to ask.",
        "Terrifying. I wouldn't go near it.", "My anxiety is through the roof.",
        "I'm worried I'll mess it up.", "What if nobody shows up?", "I'm nervous about meeting them.",
        "I'm scared I'll say something wrong.", "My stomach is in knots.", "I'm a nervous wreck.",
        "I'm terrified of what the results will say.", "That scared the life out of me.",
        "I'm afraid of losing my job.",
        "I get so anxious before every {meeting}.",
    ),
    "happy": (
        "Thank you so much, this means a lot!", "Haha, that's {judge}.", "Lol I love this.", "I love you guys.",
        "You're the best.", "This is {judge}!", "Congrats, you totally deserve it!",
        "Good luck tomorrow, you've got this!", "I'm so proud of you.", "Aww, that's so sweet.",
        "I can't wait for {good_future}!", "That made my day.", "Haha yes, exactly.",
        "Oh, that's wonderful news!", "Thanks, I really needed that.", "I'm glad you're feeling better.",
        "You look great, by the way.", "This is the cutest thing I've seen all week.", "{interj} We did it!",
        "I'm so happy for you two.", "Ha! Nice one.", "That's brilliant, I'm stealing that.",
        "Hope you have a great {holiday}!", "Finally some good news.", "Phew, what a relief.",
        "Yes! That's what I'm talking about.", "Honestly, I'm {feel}!", "That's so cool!", "Love that for you.",
        "Happy birthday! Have the best day.", "Thank you, seriously.", "I laughed way too hard at that.",
        "Well done, that was amazing.", "Enjoy it, you earned it.", "Things are finally looking up.",
        "I'm so grateful for you.", "This song always puts me in a good mood.", "Glad it worked out!",
        "{good_news}! {interj}", "Best {meal} I've had in ages.", "You're a lifesaver, thank you.",
        "That's hilarious, I'm crying.", "What a great idea.", "You nailed it.", "I really like your {thing}.",
        "This is exactly what I wanted.", "We had the best time.", "Can't stop smiling.",
        "Good call.", "Totally agree.", "That's a great point.", "Exactly this.", "Well said.",
        "He's such a good player.", "Respect.", "Nice!", "Great job, everyone.", "Love this.", "She's a legend.",
        "Haha, that's so true.", "Lol, that's amazing.", "Take care of yourself, okay?", "Hope you feel better soon.",
        "Fingers crossed, I think it'll work out.", "Thanks, that's really kind.", "This is so wholesome.",
        "I'm so excited!", "Yes, please!", "You're so talented.", "That's adorable.", "What a great game.",
        "Thank you, you're awesome.", "Congrats to you both!", "Haha, you're funny.", "I appreciate it.",
        "Stay safe and have fun!", "I'm really proud of this one.", "Glad to hear it!",
        "The {food} here is so good.", "My dog is the sweetest thing.", "The doctor said everything looks great!",
        "I passed the exam!", "The kitchen looks amazing after the clean-up.", "This {food} is delicious, thank you.",
        "Holy crap, that's awesome.", "Damn right!", "This guy gets it.", "Okay, that's hilarious.",
        "Ha! Nailed it.", "I love this so much.", "Oh man, I needed that laugh.", "That's so funny.",
        "He's the best, honestly.", "Best thing I've seen all day.", "Yes! Finally someone said it.",
        "Hell yeah!", "Damn, that's good.", "Okay, that's actually really cool.", "Thanks for sharing this.",
        "I love how {person} handled that.", "You made my whole week.", "I'd love to try that someday.",
        "I really hope it works out for you.", "Thanks for the tip!", "Thanks, I'll give it a try.",
        "Oh, I love that show.", "That's such a good song.", "He's so good at this.", "She was amazing in that role.",
        "That was a beautiful thing to do.", "Good for you!", "Nice work, seriously.", "I'm glad someone said it.",
        "Agreed, great call.", "Ha, I love that.", "That cracked me up.", "You two are adorable.",
        "Welcome back, we missed you!", "Glad you're okay!", "Oh, that's so kind of you.", "This looks delicious.",
        "Can't wait to see it!", "I hope you win.", "Enjoy your {holiday}!", "This is beautiful work.",
        "It's nice to see people being kind.", "That's a lovely idea.", "I'm in! Sounds fun.", "Best day ever.",
        "What a save! What a player!", "I'm so relieved it worked.", "Your dog is so cute.", "This made me smile.",
        "Thank you for being honest.", "I'm really enjoying this.", "So happy this exists.", "Yes, I agree completely.",
    ),
    "neutral": (
        "Is {place} open on {day}?", "I think it starts at {clock}.", "Which one did you end up getting?",
        "It's the second door on the left.", "They moved the {meeting} to {day}.", "I usually just take the bus.",
        "Did you send the {work_item} yet?", "It's about twenty minutes from here.",
        "We should probably leave around {clock}.", "I haven't decided yet.", "What time does {show} start?",
        "Apparently {fact}.", "Do you want the window or the aisle?", "I'll check and get back to you.",
        "He said he'd call after lunch.", "It depends on the price.", "I'd go with the smaller one.",
        "The {thing} is in the {room}.", "Same as last time, I think.", "Can you pick up {grocery} on the way?",
        "Where did you park?", "Are we still doing {social} on {day}?", "The forecast says rain tomorrow.",
        "I think {person} is working on {day}.", "You need a password for the wifi.", "It's in the top drawer.",
        "How much was it?", "I've never tried it.", "Who's bringing the chairs?", "The store closes at nine.",
        "I'm not sure, ask {name}.", "It was built in the eighties, I think.", "You can pay by card there.",
        "Let's just order in.", "That's what the manual says.", "He plays for {team} now.",
        "The game's at seven.", "Maybe. We'll see.", "I'd need to check my calendar.",
        "So what's the plan for tomorrow?", "Okay, I'll let them know.", "Do you know if it's on sale?",
        "Most people just use the app.", "It's a three-hour flight.", "Not really, it's mostly the same.",
        "I think the second option makes more sense.", "It's a remake of an older film.",
        "Did you watch the {show} last night?", "The {thing} needs new batteries.", "I'll be there around {clock}.",
        "What did you have for lunch?", "They're on the same team, right?", "Depends on the traffic.",
        "You have to renew it every year.", "I read the first chapter.", "It's cheaper if you book early.",
        "Mine's the grey one.", "We're out of {grocery}.", "That was in the {season}, I think.",
        "It's the same size, just a different colour.", "I'm taking the {thing} in for repairs.",
        "Has anyone fed the cat?", "The update came out on {day}.", "Turn left after the bridge.",
        "Okay, sounds like a plan.", "Yeah, that's the one.", "Right, makes sense.",
        "It's been like that since the last update.", "The first one was better written, though.",
        "I think they'll trade him before the deadline.", "Most of the cast is the same.",
        "You can turn that off in the settings.", "It's cheaper on the website.",
        "He's been the coach for three years.",
        "That's a fair point.", "I guess it depends on who you ask.", "The vote is on Tuesday.",
        "They usually post the schedule on Mondays.", "Both work, honestly.", "Nah, I'll just wait for the sale.",
        "You can download it for free.", "I think that's a different guy.", "No idea, I haven't been following it.",
        "I'll read it later.", "It was on the news this morning.", "The app asks you for a code.",
        "That was two seasons ago.", "I'm going with the blue one.", "Yeah, I saw that.", "Sure, why not.",
        "I think he meant the other one.", "It's a public holiday, so the banks are closed.",
        "We can split it three ways.", "Is that the same as the old version?", "They're playing at home this week.",
        "Yeah.", "Probably.", "The second one.", "I think so.", "He was traded last year.",
        "It's a different model.", "They play on Sunday.", "That's the official name now.", "I use the free version.",
        "That's from the first book.", "It's about an hour by car.", "The vote is next month.",
        "Most of them are in the group chat.", "You can return it within thirty days.", "It's on the top shelf.",
        "It's a reference to an old show.", "I think that's the point of the rule.", "Depends where you live.",
        "I'll ask him tomorrow.", "The patch notes are on the website.", "I haven't played the new one.",
        "He's talking about the other team.", "It's mostly rice and beans.", "That's a common name there.",
        "It was a draw.", "I think it's in the settings menu.", "They're both pretty similar.",
        "There's leftover {food} in the fridge.", "The bathroom's free now.", "I need to take the bins out later.",
        "The cat's been sleeping all day.", "We should clean the fridge this weekend.", "I had {food} for lunch.",
        "The dog needs a walk at some point.", "I've got a doctor's appointment on {day}.", "The exam is at {clock}.",
        "They're spraying for bugs on {day}.", "It smells like someone's cooking downstairs.",
        "The hospital is across from {place}.", "I'm doing the laundry tonight.",
        "The sink drains slowly, someone should look at it.",
        "Results usually take about a week.", "The vet said he's due for his shots.",
        "No, it was the other guy who said that.", "Actually, the rule only applies on weekends.",
        "That's not really what {media} says.", "You're thinking of the other one.", "It was the year after, I think.",
        "I don't think that's how it works, but I could be wrong.", "Not exactly, it's a bit more complicated.",
        "Technically they're both right.", "He didn't say that, he said it might happen.",
        "It's the same price either way.",
        "I think you need both for it to count.", "Nah, that was the first season.",
        "Only if you sign up before {day}.",
        "Well, it depends on how you count it.", "That's mostly true, except for the last part.",
        "It's not a new rule, it's just enforced now.", "They said the same thing last year.",
        "I think most people would pick the cheaper one.", "Honestly, I haven't noticed a difference.",
        "I don't know, I'd have to see the numbers.", "It's probably going to be the same as before.",
        "I think it's normal for this time of year.", "That's what I heard, anyway.",
        "He's a decent player, nothing special.",
        "It's okay. Not great, not terrible.", "It was fine, a bit long.", "I'd call it average.",
        "I think {media} covers that, actually.", "Probably {subject}, if I had to guess.",
        "Depends on {subject}, really.", "I read {media} a while back.", "Has anyone watched {media}?",
        "Which part of {media} do you mean?", "Isn't that from {media}?", "They explain it in {media}.",
        "I'd probably wait until {day}.", "You could try asking at {place}.", "I'd check the reviews first.",
        "Most people I know just rent.", "I usually go on weekdays, it's quieter.", "The older version works fine.",
        "I think they changed it last year.", "That's usually how it goes.", "It's more of a guideline than a rule.",
        "Some people like it, some don't.", "It's not really my thing, but sure.", "I can see both sides of it.",
        "I don't have a strong opinion on it.", "It's a long story, I'll tell you later.",
        "I'm just saying what I heard.", "I was just asking.", "Fair, I hadn't thought of that.",
        "Okay, that's good to know.", "Yeah, that's about what I expected.", "Sounds about right.",
        "I'll have to look into it.", "Let me think about it.", "We'll talk about it tomorrow.",
        "I'm heading out in ten minutes.", "I'm going to grab a coffee first.", "I'm working from home on {day}.",
        "We're thinking of going to {place} later.", "I'm probably staying in tonight.",
        "I still need to finish the {work_item}.", "Can you send me the link?", "What's the name of that place again?",
        "How long does it usually take?", "Do they deliver on weekends?", "Are you on the new version or the old one?",
        "Was that before or after the update?", "Who's playing tonight?", "What's the score?", "Who won last night?",
        "Did they say when it's coming back?", "Is this the same guy from before?", "Where's this from?",
        "What are you doing this weekend?", "Anyone want anything from {place}?", "What do you think about {topic}?",
        "How are you getting there?", "Do you need a hand with that?", "That's the one with the red cover, right?",
        "The whole season is on there now.", "He played for {team} before that.", "They finished third last year.",
        "There's a new episode every {day}.", "It's mostly people from work.", "The meeting is in the small room.",
        "It's about a family that runs a hotel.", "The rules changed a couple of years ago.",
        "I think he was being sarcastic.", "I think she meant it as a joke.", "Honestly, it could go either way.",
        "Hard to say without seeing it.", "Not sure it matters much either way.", "Probably just a glitch.",
        "Probably nothing, but I'll check.", "That's one way to look at it.", "I mean, it's just a game.",
        "It's a pretty common mistake.", "I've heard mixed things about it.", "I have the same one at home.",
        "I went there once, years ago.", "My brother has one of those.", "I used to live near there.",
        "We did that in school too.", "I'm on the fence about it.", "I'll go with whatever you pick.",
        "Either is fine with me.", "Let's decide when we get there.", "I'm leaning towards the first one.",
        "The post doesn't say where it was taken.", "Someone already posted this earlier.",
        "The link is in the description.", "Check the pinned message.", "I think that's a repost.",
        "That's the sequel, not the original.", "The subtitles are a second off.", "The game's on channel four.",
        "The next match is away.", "He's been injured most of the season.", "They're rebuilding, so it'll take time.",
        "That's not how I'd put it, but okay.", "I see what you mean.", "Yeah, I get that.", "True.", "Okay.",
        "Could be.", "Maybe next time.", "Not yet.", "No, the other one.", "Same here.", "I guess so.",
        "I'd have to ask.", "{person} said it's fine either way.", "I think {person} already has one.",
    ),
    "sad": (
        "I miss {lost_one} so much.", "That's so sad.", "I'm sorry, I really messed up.", "I wish I'd {regret}.",
        "It just hurts.", "That sucks, I'm sorry.", "I'm so sorry for your loss.", "Nobody even noticed.",
        "I really thought I'd get it this time.", "I feel so alone lately.", "Oh no, poor {pet}.",
        "This is heartbreaking.", "I cried for an hour after that.", "It was my fault and I feel awful.",
        "I feel like such a failure.", "It's not the same without {lost_one}.", "Well, that's disappointing.",
        "Too bad, I was really looking forward to it.", "I just want to go home and cry.",
        "I feel terrible about it.", "Rest in peace, {name}.", "Why does this always happen to me?",
        "So embarrassing. I want to disappear.", "Nothing's going right lately.",
        "I guess it wasn't meant to be.", "I don't have anyone to talk to.", "It's been a rough year.",
        "We had to put {pet} down today.", "I'll miss you.", "Ugh, I feel awful.", "Honestly, I'm {feel}.",
        "I tried my best and it still wasn't enough.", "Oh, that's a shame.", "My heart breaks for them.",
        "Sucks to hear that, man.", "{loss}. I still can't talk about it.", "That's {judge}.",
        "I let everyone down.", "It's so lonely here now.", "I just feel empty.",
        "I really wanted this to work.", "She didn't even say goodbye.", "Everyone else seems to be moving on.",
        "I shouldn't have said that to {person}.", "I wish things were different.",
        "That's disappointing.", "I messed up and I feel terrible.", "I'm so embarrassed.", "I regret it every day.",
        "I feel bad for him.", "Such a sad story.", "I wish it had ended differently.", "That's a letdown.",
        "I miss those days.", "Poor guy, that sucks.", "I was hoping for more, honestly.",
        "I'm sorry, I didn't mean it.",
        "So sad to hear that.", "It's depressing, really.", "I feel so stupid now.", "Sorry for your loss.",
        "I'm so sorry, that's awful.", "That's really sad to hear.", "It's sad how things turned out.",
        "I feel so bad for his family.", "That's depressing.", "It's been really hard since {loss}.",
        "I wish I could help.", "I failed the test again.", "Nobody came to my party.", "I'm sorry I forgot.",
        "This makes me want to cry.", "Poor thing.", "I really miss how things used to be.",
    ),
    "surprise": (
        "Wait, what?", "No way, really?", "Huh, I had no idea.", "Whoa, since when?",
        "I did not expect that at all.", "Oh! Now it makes sense.", "Hold on, are you serious?",
        "How did that even happen?", "Wow, I never knew that.", "I'm so confused, what does that mean?",
        "Wait, {person} did what?", "Is that real? That can't be real.", "Oh wow, that's {judge}.",
        "Really? I thought it was the other way around.", "I can't believe they pulled that off.",
        "What?! When did this happen?", "Holy cow.", "Oh my god, are you kidding?", "Wait, so {twist}?",
        "That's the last thing I expected.", "Plot twist.", "Huh, I'm surprised. Why though?",
        "Why would anyone {odd_act}?", "Oh, I didn't realise you two knew each other.",
        "Hang on, how is that possible?", "Oh, so that's why.", "You're kidding. {name}?",
        "Honestly, I'm {feel}.", "Did that really just happen?", "That's {judge}.",
        "Whoa, didn't see that coming.", "Where did you even find that?", "Huh? What do you mean?",
        "Oh! I totally forgot about that.", "Wait, {twist}?", "Since when does {person} {odd_act}?",
        "I had to read that twice.", "Are you telling me {twist}?", "Get out. Seriously?",
        "Oh, I always thought it was the opposite.", "How do you even know that?", "Whoa. Okay. Wow.",
        "Wait, that was today?", "Huh, that's new.",
        "Wait, what? I'm shocked.", "Wow, how does that even work?", "I'm confused.", "Is that true?", "Oh, I see now.",
        "Wait, why?", "Huh? Since when?", "Really? I didn't know that.", "Wow. Just wow.",
        "I never noticed that before.",
        "Oh, that explains it.", "Whoa, I never would have guessed.", "Wait, is this real?", "Wow, that's a lot.",
        "Who knew?", "Oh! I get it now.", "What? How?", "Whoa, that's huge.", "Are you sure? That's wild.",
        "I'm shocked, honestly.",
        "Wait, really? I had no idea.", "I just realised it's {day} already.", "Hold on, that's the same guy?",
        "Oh wow, I totally missed that.", "No way, I thought they'd cancelled it.",
        "I can't believe it actually worked.",
        "Huh. I always assumed it was made up.", "Wait, you've been there too?", "I didn't know you could do that.",
        "Oh! So that's where it went.", "What? I thought you hated it.", "Whoa, that was fast.",
        "Seriously? Since when does it cost that much?", "Wow, I would never have guessed.",
    ),
}

# ----------------------------------------------------------------------------------------------------------------
# The other speaker
# ----------------------------------------------------------------------------------------------------------------

OPENERS = {
    "casual": (
        "Hey, what's up?", "How's your day going?", "Hey {focal}, got a sec?", "What's new?", "How was {social}?",
        "Long time no see! How are things?", "Hey, you free to talk?", "So how's everything?",
    ),
    "work": (
        "Morning. How did the {work_item} go?", "Hey, do you have a minute before the standup?",
        "How was the meeting with {boss}?", "Any updates on the {work_item}?", "Hey {focal}, how's the week going?",
        "Did you get my email about the {work_item}?",
    ),
    "family": (
        "Hi sweetie, how was your day?", "Hey, did you call grandma back?", "How's everything at home?",
        "Did you talk to {relative}?", "Dinner's almost ready. How was your day?", "Hey, are you coming {day}?",
    ),
    "online": (
        "hey u there?", "yo what's up", "did you see my message", "how's it going", "sup",
        "hey, you around?", "any news?",
    ),
}

FOLLOW_UPS = (
    "What happened?", "Wait, what do you mean?", "And then what?", "Seriously?", "How come?", "What did they say?",
    "Tell me more.", "Oh?", "Since when?", "Who told you?", "Hm. And?", "Okay, go on.", "When was this?",
    "Huh. How?", "Wait, really?", "What are you going to do?", "Did you say anything?", "How are you holding up?",
)

REACTIONS = {
    "anger": (
        "That's not okay.", "Ugh, I'd be mad too.", "Wow, that's really unfair.", "Okay, take a breath.",
        "Did you say anything to them?", "You have every right to be upset.", "What a jerk.",
        "That's so annoying.", "Seriously? That's ridiculous.", "I'd have lost it.", "Unbelievable. Who does that?",
    ),
    "contempt": (
        "Wow, tell me how you really feel.", "Harsh, but fair.", "Okay, that's a little harsh.",
        "Ha, you really can't stand them, huh?", "Some people, right?", "Yeah, they're kind of a clown.",
    ),
    "disgust": (
        "Ew, stop.", "That's so gross.", "Please tell me you threw it out.", "I did not need that image.",
        "Okay, I just lost my appetite.", "Eww, that's disgusting.", "Ugh, nasty.", "Gross, gross, gross.",
        "That's vile.", "Yuck. Why would you tell me that?",
    ),
    "fear": (
        "Hey, breathe. You're going to be okay.", "Do you want me to come over?", "That sounds scary.",
        "Have you told anyone else?", "Stay on the phone with me.", "Try not to panic yet.",
        "Oh no, that's frightening.", "I'd be scared too.", "That's terrifying. Are you safe?",
        "I'm worried about you.",
    ),
    "happy": (
        "That's amazing!", "Congrats!!", "I'm so happy for you!", "You deserve it.", "Okay, we're celebrating.",
        "Yes! Finally!", "Haha, love it.", "Aww, that's great.", "That's awesome news!", "So good to hear!",
    ),
    "neutral": (
        "Cool.", "Okay, sounds good.", "Got it.", "Makes sense.", "Alright.", "Nice, okay.", "Right.",
        "Okay, noted.", "Sure.", "Fair enough.",
    ),
    "sad": (
        "Oh no, I'm so sorry.", "That's really rough.", "Do you want to talk about it?",
        "I'm here if you need anything.", "That's heartbreaking.", "Come here, I'm sorry.", "That sucks, I'm sorry.",
        "Aw, that's so sad.", "I'm sorry you're going through that.", "That's such a shame.",
    ),
    "surprise": (
        "No way!", "Wait, for real?", "Where did that come from?", "I did not see that coming either.",
        "Shut up, really?", "Get out of here!", "Whoa, seriously?", "Wait, what? Since when?", "Huh! No idea.",
        "Wow, really?",
    ),
}

CLOSERS = (
    "Okay, talk later.", "Let me know how it goes.", "See you tomorrow.", "Call me tonight?", "Keep me posted.",
    "I have to run, text me later.", "Want to grab lunch tomorrow?", "Okay, I'll see you at six.",
)

# Prompts of the optional language-model backend; split-assigned like every other template.
LLM_PROMPTS = (
    "Write a short conversation of {n} lines between {focal} and {other}. {focal} feels {emotion} because {event}. "
    "Each line starts with the speaker's name.\n{focal}:",
    "The following is a chat between {focal} and {other}. {focal} is {emotion}: {event}.\n{focal}:",
    "Dialogue ({n} turns). Speaker {focal} tells {other} that {event}, and sounds {emotion}.\n{focal}:",
    "{focal} and {other} are talking. {focal} just found out that {event} and feels {emotion}.\n"
    "{other}: Hey, what's up?\n{focal}:",
    "A realistic {register} conversation. {focal} feels {emotion}. Situation: {event}.\n{focal}:",
    "Transcript of a {register} conversation between {focal} and {other} after {event}. {focal} is {emotion}."
    "\n{focal}:",
)

__all__ = [
    "ACTIONS",
    "APPRAISALS",
    "BODILY",
    "CLOSERS",
    "CONTINUATIONS",
    "EVENTS",
    "EXPLICIT",
    "FILLERS",
    "FOLLOW_UPS",
    "FRAMES",
    "INTENSITY_MODIFIERS",
    "INTERJECTIONS",
    "JUDGEMENTS",
    "LLM_PROMPTS",
    "NAMES",
    "ONLINE_TAGS",
    "OPENERS",
    "REACTIONS",
    "REGISTERS",
    "REMARKS",
    "SITUATIONS",
    "SITUATION_SLOTS",
    "SLOTS",
    "TAILS",
]
