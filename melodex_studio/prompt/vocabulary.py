"""The prompt vocabulary: genres, moods, instruments (General MIDI programs and track roles), ensembles,
drum groove families, energy curves and section labels.

Everything here is plain data, imported by the prompt parser (``parse.py``), by the default-filling code
(``defaults.py``) and by the structure model's style templates, which key their grooves, bass patterns and
comping on ``Genre.name`` and ``Genre.groove``. Names are stable: entries may be added, never renamed.

Units: tempo ranges are in quarter notes per minute (the convention of ``song.timing.TempoMap``); energy
values are 0..1.
"""
from __future__ import annotations

from dataclasses import dataclass

# Drum groove families (the structure model has one drum template family per name).
GROOVE_FAMILIES = (
    "rock", "four_on_floor", "boom_bap", "half_time", "shuffle", "one_drop", "bossa", "swing", "jig_6_8",
    "waltz", "trap", "breakbeat", "funk", "dembow", "march", "none",
)

# Energy curve shapes over the form; ``defaults.energy_curve`` turns one into one value per section.
ENERGY_CURVES = ("flat", "verse_chorus", "build", "arc", "edm_drop", "calm", "steady_high")

# Form templates (``defaults.default_form`` expands them to a bar count).
FORM_TEMPLATES = ("song", "song_short", "edm", "aaba", "blues12", "loop", "through", "cinematic", "tune", "ambient")

ROLES = ("melody", "counter", "chords", "pad", "bass", "drums", "percussion", "fx")

# Section labels a musician writes, mapped to the canonical lower-case label kept in the form.
SECTION_LABELS: dict[str, str] = {
    "intro": "intro", "introduction": "intro", "verse": "verse", "pre-chorus": "pre-chorus",
    "prechorus": "pre-chorus", "pre chorus": "pre-chorus", "chorus": "chorus", "hook": "hook",
    "refrain": "refrain", "bridge": "bridge", "middle 8": "bridge", "middle eight": "bridge",
    "breakdown": "breakdown", "build": "build", "buildup": "build", "build-up": "build", "build up": "build",
    "drop": "drop", "climax": "climax", "outro": "outro", "coda": "coda", "interlude": "interlude",
    "solo": "solo", "instrumental": "instrumental", "break": "break", "post-chorus": "post-chorus",
    "postchorus": "post-chorus", "vamp": "vamp", "head": "head", "theme": "theme", "tag": "tag",
    "riser": "build", "ending": "outro", "fill": "break", "section a": "A", "section b": "B",
}


@dataclass(frozen=True)
class Genre:
    """A genre and its defaults.

    ``tempo_bpm``: (low, high) quarter-note BPM; ``meter``: default (numerator, denominator);
    ``instruments``: default instrument names (keys of ``INSTRUMENTS``) in track order;
    ``groove``: a ``GROOVE_FAMILIES`` name; ``energy_curve``: an ``ENERGY_CURVES`` name;
    ``production``: tags for the renderer's style conditioning; ``drums``: whether a drum track is
    the default; ``mode``/``tonic``: default key; ``form``: a ``FORM_TEMPLATES`` name; ``bass``,
    ``guitar``, ``keys``, ``sax``: what the ambiguous words "bass", "guitar", "keys", "sax" mean here.
    """

    name: str
    aliases: tuple[str, ...]
    tempo_bpm: tuple[int, int]
    meter: tuple[int, int]
    instruments: tuple[str, ...]
    groove: str
    energy_curve: str
    production: tuple[str, ...]
    drums: bool = True
    mode: str = "major"
    tonic: str = "C"
    form: str = "song"
    bass: str = "electric bass"
    guitar: str = "electric guitar"
    keys: str = "piano"
    sax: str = "alto sax"


def _g(name, aliases, tempo, meter, instruments, groove, curve, production, **kw) -> Genre:
    return Genre(name, tuple(aliases), tempo, meter, tuple(instruments), groove, curve, tuple(production), **kw)


_GENRE_LIST = [
    _g("pop", ["pop song", "pop ballad", "synthpop", "synth pop", "synth-pop", "dance pop", "k-pop", "kpop", "j-pop"],
       (92, 124), (4, 4), ["piano", "electric bass", "synth lead", "pad"], "rock", "verse_chorus",
       ["polished", "bright"]),
    _g("rock", ["rock song", "rock and roll", "rock n roll", "rock'n'roll", "hard rock", "classic rock", "alt rock",
                "alternative rock", "grunge", "garage rock", "stadium rock"],
       (100, 150), (4, 4), ["overdriven guitar", "electric guitar", "electric bass"], "rock", "verse_chorus",
       ["live", "punchy"], tonic="E", guitar="electric guitar"),
    _g("indie", ["indie rock", "indie pop", "indie folk", "dream pop", "shoegaze", "bedroom pop"],
       (96, 132), (4, 4), ["electric guitar", "electric bass", "pad"], "rock", "verse_chorus",
       ["lofi", "roomy"], tonic="D"),
    _g("punk", ["punk rock", "pop punk", "pop-punk", "hardcore"],
       (150, 200), (4, 4), ["distortion guitar", "electric bass"], "rock", "steady_high", ["raw", "loud"],
       tonic="A", form="song_short", guitar="distortion guitar"),
    _g("metal", ["heavy metal", "metalcore", "thrash", "thrash metal", "doom metal", "djent"],
       (90, 180), (4, 4), ["distortion guitar", "electric bass"], "rock", "steady_high", ["heavy", "loud"],
       mode="minor", tonic="E", guitar="distortion guitar"),
    _g("blues", ["blues rock", "delta blues", "chicago blues", "12-bar blues", "twelve bar blues"],
       (60, 120), (4, 4), ["electric guitar", "piano", "electric bass"], "shuffle", "flat", ["warm", "live"],
       tonic="A", form="blues12", sax="tenor sax"),
    _g("jazz", ["jazz ballad", "bebop", "bop", "hard bop", "cool jazz", "jazz standard", "jazz trio", "smooth jazz",
                "jazz combo", "modal jazz"],
       (60, 220), (4, 4), ["piano", "acoustic bass", "tenor sax"], "swing", "arc", ["warm", "roomy", "live"],
       tonic="Bb", form="aaba", bass="acoustic bass", guitar="jazz guitar", sax="tenor sax"),
    _g("swing", ["big band", "big-band", "swing jazz", "jump blues", "electro swing"],
       (120, 220), (4, 4), ["brass", "piano", "acoustic bass", "tenor sax"], "swing", "arc", ["warm", "roomy"],
       tonic="F", form="aaba", bass="acoustic bass", guitar="jazz guitar", sax="tenor sax"),
    _g("bossa nova", ["bossa", "bossanova", "samba", "brazilian", "mpb"],
       (110, 150), (4, 4), ["nylon guitar", "acoustic bass", "flute"], "bossa", "flat", ["warm", "intimate"],
       tonic="F", form="aaba", bass="acoustic bass", guitar="nylon guitar", sax="tenor sax"),
    _g("latin", ["salsa", "cumbia", "mambo", "cha cha", "cha-cha", "merengue", "tango", "latin jazz"],
       (90, 180), (4, 4), ["piano", "electric bass", "trumpet", "nylon guitar"], "bossa", "verse_chorus",
       ["live", "bright"], mode="minor", tonic="A", guitar="nylon guitar"),
    _g("funk", ["funky", "p-funk", "jazz funk", "jazz-funk"],
       (90, 125), (4, 4), ["electric guitar", "slap bass", "clavinet", "brass"], "funk", "flat", ["tight", "dry"],
       tonic="E", mode="minor", form="loop", keys="clavinet", sax="tenor sax"),
    _g("soul", ["neo soul", "neo-soul", "motown", "northern soul"],
       (70, 110), (4, 4), ["electric piano", "electric bass", "electric guitar", "strings"], "rock", "verse_chorus",
       ["warm", "vintage"], tonic="Eb", keys="electric piano", sax="tenor sax"),
    _g("r&b", ["rnb", "r and b", "r 'n' b", "contemporary r&b", "slow jam"],
       (60, 100), (4, 4), ["electric piano", "synth bass", "pad"], "half_time", "verse_chorus", ["smooth", "warm"],
       tonic="Db", bass="synth bass", keys="electric piano"),
    _g("gospel", ["gospel choir", "spiritual", "worship"],
       (66, 120), (4, 4), ["organ", "piano", "choir", "electric bass"], "rock", "build", ["roomy", "live"],
       tonic="Ab", keys="organ"),
    _g("hip hop", ["hip-hop", "hiphop", "rap", "boom bap", "boom-bap", "old school hip hop"],
       (80, 100), (4, 4), ["piano", "synth bass", "strings"], "boom_bap", "flat", ["punchy", "sampled"],
       mode="minor", tonic="C", form="loop", bass="synth bass"),
    _g("lofi", ["lo-fi", "lo fi", "lofi hip hop", "lo-fi hip hop", "lofi hip-hop", "lo-fi hip-hop", "chillhop",
                "lofi beat", "lo-fi beat"],
       (70, 92), (4, 4), ["electric piano", "acoustic bass", "nylon guitar"], "boom_bap", "flat",
       ["lofi", "vinyl", "warm", "tape"], tonic="F", form="loop", bass="acoustic bass", keys="electric piano",
       guitar="nylon guitar"),
    _g("trap", ["drill", "uk drill", "trap beat", "phonk"],
       (130, 160), (4, 4), ["synth bass", "synth lead", "pad"], "trap", "flat", ["dark", "punchy", "808"],
       mode="minor", tonic="F", form="loop", bass="synth bass"),
    _g("house", ["deep house", "tech house", "progressive house", "chicago house", "french house", "disco house"],
       (118, 128), (4, 4), ["electric piano", "synth bass", "pad"], "four_on_floor", "edm_drop", ["club", "warm"],
       mode="minor", tonic="A", form="edm", bass="synth bass", keys="electric piano"),
    _g("techno", ["minimal techno", "detroit techno", "industrial techno", "acid techno", "acid"],
       (124, 140), (4, 4), ["synth bass", "synth lead", "pad"], "four_on_floor", "edm_drop", ["club", "dark"],
       mode="minor", tonic="F", form="edm", bass="synth bass"),
    _g("trance", ["psytrance", "psy trance", "progressive trance"],
       (130, 145), (4, 4), ["synth lead", "synth bass", "pad", "strings"], "four_on_floor", "edm_drop",
       ["big", "bright"], mode="minor", tonic="A", form="edm", bass="synth bass"),
    _g("drum and bass", ["drum & bass", "drum n bass", "drum'n'bass", "dnb", "d&b", "jungle", "liquid dnb",
                         "neurofunk"],
       (160, 178), (4, 4), ["synth bass", "pad", "synth lead"], "breakbeat", "edm_drop", ["fast", "punchy"],
       mode="minor", tonic="F", form="edm", bass="synth bass"),
    _g("dubstep", ["brostep", "riddim", "future bass", "bass music"],
       (136, 150), (4, 4), ["synth bass", "synth lead", "pad"], "half_time", "edm_drop", ["heavy", "wide"],
       mode="minor", tonic="F", form="edm", bass="synth bass"),
    _g("edm", ["big room", "electro house", "festival edm", "dance", "dance music", "club track", "eurodance"],
       (120, 132), (4, 4), ["synth lead", "synth bass", "pad"], "four_on_floor", "edm_drop", ["big", "bright"],
       mode="minor", tonic="A", form="edm", bass="synth bass"),
    _g("electronic", ["electronica", "electro", "idm", "electronic music", "edm track"],
       (100, 130), (4, 4), ["synth lead", "synth bass", "pad"], "four_on_floor", "build", ["wide", "modern"],
       mode="minor", tonic="E", form="edm", bass="synth bass"),
    _g("synthwave", ["retrowave", "outrun", "80s synth", "darksynth", "vaporwave", "chillwave"],
       (80, 120), (4, 4), ["synth lead", "synth bass", "pad"], "rock", "verse_chorus", ["retro", "80s", "wide"],
       mode="minor", tonic="A", bass="synth bass", keys="pad"),
    _g("disco", ["nu disco", "nu-disco", "funk disco"],
       (110, 128), (4, 4), ["strings", "electric bass", "electric guitar", "electric piano"], "four_on_floor",
       "verse_chorus", ["bright", "vintage"], tonic="A", mode="minor"),
    _g("ambient", ["ambient music", "drone", "dark ambient", "new age", "soundscape"],
       (50, 90), (4, 4), ["pad", "strings", "piano"], "none", "calm", ["reverb", "wide", "soft"], drums=False,
       tonic="D", form="ambient", keys="pad", bass="synth bass"),
    _g("chillout", ["chill out", "chill-out", "downtempo", "trip hop", "trip-hop", "lounge"],
       (70, 100), (4, 4), ["electric piano", "synth bass", "pad"], "half_time", "flat", ["warm", "soft"],
       tonic="D", mode="minor", form="loop", keys="electric piano"),
    _g("cinematic", ["orchestral", "film score", "score", "trailer", "soundtrack", "epic orchestral",
                     "trailer music", "film music", "movie score", "epic music", "cinematic score", "underscore"],
       (60, 140), (4, 4), ["strings", "brass", "piano", "timpani"], "half_time", "build", ["big", "roomy", "epic"],
       mode="minor", tonic="C", form="cinematic", bass="contrabass"),
    _g("classical", ["baroque", "chorale", "chamber music", "chamber", "romantic era", "classical music",
                     "string quartet piece", "sonata", "minuet", "nocturne", "etude", "prelude", "fugue"],
       (60, 140), (4, 4), ["strings", "piano"], "none", "arc", ["acoustic", "roomy", "natural"], drums=False,
       form="through", bass="cello", guitar="nylon guitar"),
    _g("folk", ["folk song", "acoustic folk", "celtic", "irish", "irish trad", "scottish", "bluegrass-folk",
                "singer-songwriter", "singer songwriter", "americana", "trad", "shanty", "sea shanty"],
       (80, 130), (4, 4), ["acoustic guitar", "violin", "acoustic bass"], "rock", "verse_chorus",
       ["acoustic", "natural", "intimate"], drums=False, tonic="D", form="song", bass="acoustic bass",
       guitar="acoustic guitar"),
    _g("country", ["country song", "country rock", "honky tonk", "honky-tonk", "outlaw country", "western"],
       (90, 140), (4, 4), ["acoustic guitar", "electric guitar", "electric bass", "violin"], "rock", "verse_chorus",
       ["warm", "live"], tonic="G", guitar="acoustic guitar"),
    _g("bluegrass", ["newgrass", "appalachian", "old-time", "old time"],
       (110, 180), (2, 4), ["banjo", "acoustic guitar", "violin", "acoustic bass"], "none", "flat",
       ["acoustic", "live"], drums=False, tonic="G", form="tune", bass="acoustic bass", guitar="acoustic guitar"),
    _g("reggae", ["roots reggae", "dub", "dancehall", "rocksteady", "one drop", "one-drop"],
       (66, 90), (4, 4), ["electric guitar", "organ", "electric bass"], "one_drop", "flat", ["warm", "dub"],
       tonic="G", form="loop", keys="organ"),
    _g("ska", ["ska punk", "two tone", "2 tone"],
       (140, 180), (4, 4), ["electric guitar", "brass", "electric bass", "organ"], "rock", "steady_high",
       ["live", "bright"], tonic="Bb", keys="organ"),
    _g("reggaeton", ["latin trap", "dembow", "urbano"],
       (88, 100), (4, 4), ["synth bass", "synth lead", "pad"], "dembow", "verse_chorus", ["punchy", "modern"],
       mode="minor", tonic="G", form="loop", bass="synth bass"),
    _g("afrobeat", ["afrobeats", "afro beat", "afro-pop", "afropop", "amapiano", "highlife"],
       (95, 120), (4, 4), ["electric guitar", "electric bass", "brass", "pad"], "funk", "flat", ["warm", "live"],
       tonic="F", form="loop"),
    _g("chiptune", ["8-bit", "8 bit", "chip tune", "video game music", "game music", "retro game", "vgm"],
       (120, 170), (4, 4), ["square lead", "synth bass", "synth lead"], "breakbeat", "verse_chorus",
       ["retro", "8-bit"], tonic="C", form="loop", bass="synth bass"),
    _g("world", ["middle eastern", "indian", "bollywood", "flamenco", "klezmer", "balkan"],
       (80, 140), (4, 4), ["sitar", "nylon guitar", "acoustic bass", "flute"], "bossa", "arc", ["acoustic", "roomy"],
       mode="minor", tonic="D", guitar="nylon guitar", bass="acoustic bass"),
]

GENRES: dict[str, Genre] = {g.name: g for g in _GENRE_LIST}
DEFAULT_GENRE = "pop"


@dataclass(frozen=True)
class Mood:
    """A mood and its nudges to the defaults: ``tempo_pos`` places the tempo in the genre's range
    (0 = low end, 1 = high end), ``mode`` prefers a key mode (None = genre default), ``energy`` is the
    overall energy level 0..1, ``production`` adds style tags."""

    name: str
    aliases: tuple[str, ...]
    tempo_pos: float
    mode: str | None
    energy: float
    production: tuple[str, ...] = ()


def _m(name, aliases, tempo_pos, mode, energy, production=()) -> Mood:
    return Mood(name, tuple(aliases), tempo_pos, mode, energy, tuple(production))


_MOOD_LIST = [
    _m("happy", ["joyful", "cheerful", "joyous", "fun", "sunny", "feel-good", "feel good"], 0.7, "major", 0.7, ["bright"]),
    _m("sad", ["sorrowful", "mournful", "heartbroken", "tearful", "grief"], 0.2, "minor", 0.3, ["soft"]),
    _m("melancholic", ["melancholy", "wistful", "forlorn"], 0.25, "minor", 0.35, ["soft"]),
    _m("dark", ["brooding", "sinister", "menacing", "ominous", "gloomy", "grim"], 0.4, "minor", 0.6, ["dark"]),
    _m("dreamy", ["hazy", "floaty", "woozy", "dreamlike", "hypnotic"], 0.3, None, 0.35, ["reverb", "soft"]),
    _m("uplifting", ["inspiring", "inspirational", "anthemic", "soaring"], 0.65, "major", 0.75, ["bright", "big"]),
    _m("energetic", ["high-energy", "high energy", "energized", "pumping", "intense", "hype", "explosive"],
       0.85, None, 0.9, ["punchy"]),
    _m("chill", ["relaxed", "laid-back", "laid back", "mellow", "easygoing", "easy-going", "chilled", "cozy", "cosy"],
       0.3, None, 0.3, ["warm", "soft"]),
    _m("calm", ["peaceful", "serene", "tranquil", "soothing", "meditative", "quiet"], 0.15, "major", 0.2,
       ["soft"]),
    _m("epic", ["grand", "heroic", "majestic", "massive", "huge"], 0.6, "minor", 0.9, ["big", "epic"]),
    _m("romantic", ["tender", "loving", "sensual", "intimate", "sweet"], 0.35, "major", 0.4, ["warm"]),
    _m("mysterious", ["mystical", "enigmatic", "eerie", "spooky", "uncanny"], 0.4, "minor", 0.4, ["dark", "reverb"]),
    _m("aggressive", ["angry", "furious", "fierce", "brutal", "raging"], 0.85, "minor", 0.95, ["heavy", "loud"]),
    _m("playful", ["quirky", "whimsical", "cheeky", "bouncy", "silly"], 0.65, "major", 0.6, ["bright", "dry"]),
    _m("nostalgic", ["retro-feeling", "reminiscent", "longing", "sentimental"], 0.4, None, 0.45, ["warm", "vintage"]),
    _m("tense", ["suspenseful", "anxious", "nervous", "urgent", "edgy"], 0.6, "minor", 0.7, ["dark"]),
    _m("hopeful", ["optimistic", "bright-eyed", "positive"], 0.55, "major", 0.55, ["bright"]),
    _m("triumphant", ["victorious", "celebratory", "glorious", "festive"], 0.7, "major", 0.9, ["big", "bright"]),
    _m("gentle", ["soft", "delicate", "lullaby-like"], 0.3, "major", 0.25, ["soft", "intimate"]),
    _m("groovy", ["funky-feeling", "grooving", "danceable", "swaggering"], 0.55, None, 0.65, ["tight"]),
    _m("ethereal", ["otherworldly", "heavenly", "celestial", "airy", "spacey", "spacy", "cosmic"], 0.25, None, 0.3,
       ["reverb", "wide"]),
    _m("haunting", ["haunted", "ghostly", "chilling"], 0.3, "minor", 0.4, ["reverb", "dark"]),
    _m("euphoric", ["ecstatic", "blissful", "elated"], 0.75, "major", 0.9, ["bright", "big"]),
    _m("somber", ["sombre", "solemn", "funereal"], 0.15, "minor", 0.25, ["dark", "soft"]),
    _m("driving", ["propulsive", "relentless", "motoric"], 0.75, None, 0.8, ["punchy"]),
    _m("upbeat", ["lively", "peppy", "perky", "sprightly", "jaunty"], 0.75, "major", 0.7, ["bright"]),
    _m("bittersweet", ["poignant", "reflective", "pensive", "introspective"], 0.35, None, 0.4, ["warm"]),
]

MOODS: dict[str, Mood] = {m.name: m for m in _MOOD_LIST}


@dataclass(frozen=True)
class Instrument:
    """An instrument of the vocabulary: display name, General MIDI program (0..127; drum kits use the
    GM drum channel, program 0), track role, ``is_drum`` for drum-channel parts, aliases a musician
    writes, and ``genre_hint``: the genre a prompt naming it probably means when it names none."""

    name: str
    program: int
    role: str
    aliases: tuple[str, ...] = ()
    is_drum: bool = False
    genre_hint: str | None = None


def _i(name, program, role, aliases=(), is_drum=False, genre_hint=None) -> Instrument:
    return Instrument(name, program, role, tuple(aliases), is_drum, genre_hint)


_INSTRUMENT_LIST = [
    # keys
    _i("piano", 0, "chords", ["acoustic piano", "grand piano", "concert grand", "upright piano",
                              "felt piano", "pianos"]),
    _i("bright piano", 1, "chords", ["bright acoustic piano", "pop piano"]),
    _i("honky-tonk piano", 3, "chords", ["honky tonk piano", "saloon piano", "tack piano"]),
    _i("electric piano", 4, "chords", ["rhodes", "fender rhodes", "wurlitzer", "wurli", "e-piano", "epiano",
                                       "electric pianos", "rhodes piano", "dx7 piano", "ep"]),
    _i("harpsichord", 6, "chords", ["cembalo"], genre_hint="classical"),
    _i("clavinet", 7, "chords", ["clav"], genre_hint="funk"),
    _i("celesta", 8, "counter", ["celeste"]),
    _i("glockenspiel", 9, "counter", ["glock", "bells", "bell"]),
    _i("music box", 10, "counter", []),
    _i("vibraphone", 11, "chords", ["vibes", "vibe"]),
    _i("marimba", 12, "counter", []),
    _i("xylophone", 13, "counter", []),
    _i("tubular bells", 14, "counter", ["chimes", "church bells"]),
    _i("organ", 16, "chords", ["hammond", "hammond organ", "b3", "b-3", "drawbar organ", "organs", "farfisa"]),
    _i("church organ", 19, "chords", ["pipe organ", "cathedral organ"]),
    _i("accordion", 21, "chords", ["squeezebox", "bandoneon"], genre_hint="folk"),
    _i("harmonica", 22, "melody", ["harp harmonica", "blues harp", "mouth organ"]),
    # guitars
    _i("nylon guitar", 24, "chords", ["nylon-string guitar", "nylon string guitar", "classical guitar",
                                      "spanish guitar", "nylon", "ukulele", "uke", "flamenco guitar"]),
    _i("acoustic guitar", 25, "chords", ["steel-string guitar", "steel string guitar", "acoustic guitars",
                                         "strummed guitar", "fingerpicked guitar", "12-string guitar", "mandolin"]),
    _i("jazz guitar", 26, "chords", ["hollow-body guitar", "hollowbody guitar", "archtop guitar"]),
    _i("electric guitar", 27, "chords", ["clean guitar", "clean electric guitar", "electric guitars",
                                         "rhythm guitar", "strat", "telecaster", "funk guitar", "skank guitar"]),
    _i("muted guitar", 28, "chords", ["palm-muted guitar", "palm muted guitar", "chicken-picking guitar"]),
    _i("overdriven guitar", 29, "melody", ["overdrive guitar", "crunchy guitar", "crunch guitar", "lead guitar",
                                           "overdriven guitars", "gritty guitar"]),
    _i("distortion guitar", 30, "chords", ["distorted guitar", "distorted guitars", "distortion guitars",
                                           "heavy guitar", "heavy guitars", "fuzz guitar", "power chords"]),
    # basses
    _i("acoustic bass", 32, "bass", ["upright bass", "upright", "double bass", "stand-up bass", "standup bass",
                                     "acoustic bass guitar", "walking bass"]),
    _i("electric bass", 33, "bass", ["bass guitar", "electric bass guitar", "fingered bass", "e-bass",
                                     "picked bass"]),
    _i("fretless bass", 35, "bass", ["fretless"]),
    _i("slap bass", 36, "bass", ["slapped bass", "funk bass"]),
    _i("synth bass", 38, "bass", ["bass synth", "808", "808s", "808 bass", "sub bass", "sub-bass", "moog bass",
                                  "analog bass", "reese bass", "acid bass", "303", "wobble bass"]),
    # strings
    _i("violin", 40, "melody", ["fiddle", "violins", "fiddles", "solo violin"]),
    _i("viola", 41, "counter", ["violas"], genre_hint="classical"),
    _i("cello", 42, "bass", ["cellos", "violoncello", "solo cello"], genre_hint="classical"),
    _i("contrabass", 43, "bass", ["contrabasses", "orchestral bass", "basses"], genre_hint="classical"),
    _i("tremolo strings", 44, "pad", ["string tremolo"]),
    _i("pizzicato strings", 45, "counter", ["pizzicato", "pizz strings", "plucked strings"]),
    _i("harp", 46, "counter", ["concert harp", "harps", "celtic harp"]),
    _i("timpani", 47, "percussion", ["timps", "kettle drums", "kettledrums"], genre_hint="cinematic"),
    _i("strings", 48, "pad", ["string ensemble", "string section", "string orchestra", "orchestral strings",
                              "lush strings", "string pads", "strings section"]),
    _i("synth strings", 50, "pad", ["string synth", "solina"]),
    _i("choir", 52, "pad", ["choirs", "choral", "choir aahs", "chorus voices", "vocal choir"]),
    _i("vocals", 53, "melody", ["voice", "voices", "vocal", "singer", "singing", "lead vocal", "lead vocals",
                                "vocal line", "oohs", "aahs", "humming"]),
    _i("synth voice", 54, "pad", ["vocal pad", "vox pad", "synth choir", "vocal chops"]),
    _i("orchestra hit", 55, "fx", ["orch hit", "orchestral hits"]),
    # brass & winds
    _i("trumpet", 56, "melody", ["trumpets", "flugelhorn", "cornet"]),
    _i("trombone", 57, "counter", ["trombones"]),
    _i("tuba", 58, "bass", ["sousaphone"]),
    _i("muted trumpet", 59, "melody", ["harmon mute trumpet", "muted trumpets"]),
    _i("french horn", 60, "counter", ["french horns", "horn in f"]),
    _i("brass", 61, "chords", ["brass section", "horn section", "horns", "brass ensemble", "big brass",
                               "brass stabs"]),
    _i("synth brass", 62, "chords", ["brass synth"]),
    _i("soprano sax", 64, "melody", ["soprano saxophone"]),
    _i("alto sax", 65, "melody", ["alto saxophone"]),
    _i("tenor sax", 66, "melody", ["tenor saxophone"]),
    _i("baritone sax", 67, "bass", ["baritone saxophone", "bari sax"]),
    _i("oboe", 68, "melody", ["oboes"]),
    _i("english horn", 69, "melody", ["cor anglais"]),
    _i("bassoon", 70, "bass", ["bassoons"]),
    _i("clarinet", 71, "melody", ["clarinets", "bass clarinet"]),
    _i("piccolo", 72, "melody", []),
    _i("flute", 73, "melody", ["flutes", "alto flute", "concert flute"]),
    _i("recorder", 74, "melody", ["recorders"]),
    _i("pan flute", 75, "melody", ["panpipes", "pan pipes", "pan-flute"]),
    _i("shakuhachi", 77, "melody", ["bamboo flute"]),
    _i("whistle", 78, "melody", ["tin whistle", "penny whistle", "irish whistle", "low whistle"], genre_hint="folk"),
    _i("ocarina", 79, "melody", []),
    # synths
    _i("square lead", 80, "melody", ["square wave lead", "chip lead", "square synth", "pulse lead"]),
    _i("synth lead", 81, "melody", ["lead synth", "saw lead", "sawtooth lead", "synth leads", "lead synths",
                                    "synth melody", "lead"]),
    _i("synth pluck", 84, "counter", ["pluck", "plucks", "pluck synth", "plucked synth"]),
    _i("pad", 89, "pad", ["pads", "synth pad", "synth pads", "warm pad", "warm pads", "ambient pad", "lush pads"]),
    _i("arpeggiator", 87, "counter", ["arp", "arps", "arpeggiated synth", "synth arp", "arpeggios"]),
    _i("atmosphere", 99, "fx", ["atmospheres", "soundscapes", "textures"]),
    # world
    _i("sitar", 104, "melody", [], genre_hint="world"),
    _i("banjo", 105, "chords", ["banjos"], genre_hint="bluegrass"),
    _i("shamisen", 106, "melody", []),
    _i("koto", 107, "counter", []),
    _i("kalimba", 108, "counter", ["mbira", "thumb piano"]),
    _i("bagpipe", 109, "melody", ["bagpipes", "uilleann pipes"], genre_hint="folk"),
    _i("steel drums", 114, "counter", ["steel drum", "steelpan", "steel pan"]),
    # drum channel: the kit and hand percussion
    _i("drums", 0, "drums", ["drum kit", "drumkit", "drum set", "kit", "beat", "beats", "drum machine", "drum loop",
                             "brushed drums", "brushes", "live drums", "breakbeats", "breaks", "808 drums",
                             "trap drums", "percussion section", "hi-hats", "hi hats", "hihats", "hi-hat", "hats",
                             "snare", "kick drum", "kick", "rimshot", "cymbals", "groove kit"], is_drum=True),
    _i("percussion", 0, "percussion", ["hand percussion", "bodhran", "bodhrán", "congas", "conga", "bongos",
                                       "bongo", "shaker", "shakers", "tambourine", "cajon", "djembe", "tabla",
                                       "claps", "handclaps", "hand claps", "cowbell", "triangle", "clave",
                                       "claves", "frame drum", "taiko", "woodblock", "toms", "sleigh bells", "sleighbells",
                                       "jingle bells", "maracas", "guiro", "güiro", "timbales", "agogo", "cabasa",
                                       "castanets", "darbuka", "doumbek", "udu", "hand drums", "hand drum"],
    is_drum=True),
]

INSTRUMENTS: dict[str, Instrument] = {i.name: i for i in _INSTRUMENT_LIST}

# Words whose meaning depends on the genre: resolved through the Genre attribute of the same name.
CONTEXT_WORDS: dict[str, str] = {
    "bass": "bass", "bassline": "", "guitar": "guitar", "guitars": "guitar", "keys": "keys", "keyboard": "keys",
    "keyboards": "keys", "sax": "sax", "saxophone": "sax", "saxophones": "sax", "saxes": "sax",
}


@dataclass(frozen=True)
class Ensemble:
    """A named group that expands to several instruments (repeats allowed: a quartet has two violins).
    ``classical`` is used instead of ``members`` when the genre is classical or cinematic."""

    name: str
    aliases: tuple[str, ...]
    members: tuple[str, ...]
    classical: tuple[str, ...] | None = None
    genre_hint: str | None = None


ENSEMBLES: dict[str, Ensemble] = {e.name: e for e in [
    Ensemble("string quartet", ("string quartets",), ("violin", "violin", "viola", "cello"), genre_hint="classical"),
    Ensemble("string trio", (), ("violin", "viola", "cello"), genre_hint="classical"),
    Ensemble("piano trio", (), ("piano", "acoustic bass", "drums"), ("piano", "violin", "cello")),
    Ensemble("jazz trio", (), ("piano", "acoustic bass", "drums"), genre_hint="jazz"),
    Ensemble("piano quintet", (), ("piano", "violin", "violin", "viola", "cello"), genre_hint="classical"),
    Ensemble("power trio", (), ("overdriven guitar", "electric bass", "drums"), genre_hint="rock"),
    Ensemble("rhythm section", (), ("piano", "electric bass", "drums")),
    Ensemble("wind quintet", ("woodwind quintet",), ("flute", "oboe", "clarinet", "french horn", "bassoon"),
             genre_hint="classical"),
    Ensemble("woodwinds", ("winds", "woodwind section", "woodwind"), ("flute", "oboe", "clarinet", "bassoon")),
    Ensemble("brass quintet", (), ("trumpet", "trumpet", "french horn", "trombone", "tuba"), genre_hint="classical"),
    Ensemble("orchestra", ("full orchestra", "symphony orchestra", "orchestral ensemble", "chamber orchestra"),
             ("strings", "brass", "flute", "timpani"), genre_hint="cinematic"),
    Ensemble("band", ("full band", "rock band", "live band"), ("electric guitar", "electric bass", "drums")),
]}

# The fallback order when a plan needs a harmony or a melody instrument the genre did not name.
HARMONY_FALLBACK = ("piano", "electric piano", "pad", "acoustic guitar")
MELODY_FALLBACK = ("synth lead", "flute", "violin", "piano")

# Groove words (phrase -> groove family); they set ``StylePlan.drum_groove``.
GROOVE_WORDS: dict[str, str] = {
    "four on the floor": "four_on_floor", "four-on-the-floor": "four_on_floor", "4 on the floor": "four_on_floor",
    "half-time": "half_time", "half time": "half_time", "halftime": "half_time", "half-time feel": "half_time",
    "shuffle": "shuffle", "shuffled": "shuffle", "shuffle feel": "shuffle", "swing": "swing", "swung": "swing",
    "swing feel": "swing", "one drop": "one_drop", "one-drop": "one_drop", "boom bap": "boom_bap",
    "boom-bap": "boom_bap", "breakbeat": "breakbeat", "breakbeats": "breakbeat", "break beat": "breakbeat",
    "bossa groove": "bossa", "trap hats": "trap", "trap groove": "trap", "march": "march", "marching": "march",
    "funk groove": "funk", "dembow": "dembow", "straight groove": "rock", "backbeat": "rock",
}

# Words that imply a meter (phrase -> ((numerator, denominator), groove family)). They are weaker than a
# written meter such as "3/4": "a waltz in 4/4" stays in 4/4.
METER_WORDS: dict[str, tuple[tuple[int, int], str]] = {
    "waltz": ((3, 4), "waltz"), "jig": ((6, 8), "jig_6_8"), "jigs": ((6, 8), "jig_6_8"),
    "slip jig": ((9, 8), "jig_6_8"), "reel": ((4, 4), "rock"), "polka": ((2, 4), "march"),
    "march": ((4, 4), "march"), "minuet": ((3, 4), "waltz"), "mazurka": ((3, 4), "waltz"),
    "shuffle": ((12, 8), "shuffle"), "12/8 feel": ((12, 8), "shuffle"), "triplet feel": ((12, 8), "shuffle"),
    "common time": ((4, 4), ""), "cut time": ((2, 2), ""), "three-four time": ((3, 4), ""),
    "three four time": ((3, 4), ""), "four-four time": ((4, 4), ""), "six-eight": ((6, 8), ""),
    "six eight": ((6, 8), ""), "three-four": ((3, 4), ""), "four-four": ((4, 4), ""), "in three": ((3, 4), ""),
    "triple meter": ((3, 4), ""), "compound meter": ((6, 8), ""),
}

# Tempo words (phrase -> position in the genre's tempo range; below 0 or above 1 leaves the range).
TEMPO_WORDS: dict[str, float] = {
    "very slow": -0.1, "slow": 0.1, "slowly": 0.1, "slower": 0.1, "ballad": 0.1, "downtempo-feel": 0.2,
    "mid-tempo": 0.5, "midtempo": 0.5, "mid tempo": 0.5, "medium tempo": 0.5, "moderate": 0.5,
    "moderato": 0.5, "uptempo": 0.85, "up-tempo": 0.85, "fast": 0.9, "faster": 0.9, "quick": 0.85,
    "very fast": 1.1, "brisk": 0.8, "adagio": 0.05, "largo": -0.1, "andante": 0.3, "allegro": 0.8,
    "presto": 1.1, "lento": 0.0,
}

# Production tags a musician writes (phrase -> tag).
PRODUCTION_WORDS: dict[str, str] = {
    "vinyl": "vinyl", "vinyl crackle": "vinyl", "crackle": "vinyl", "tape": "tape", "tape hiss": "tape",
    "lofi": "lofi", "lo-fi production": "lofi", "warm": "warm", "bright": "bright", "roomy": "roomy",
    "dry": "dry", "reverb": "reverb", "reverby": "reverb", "reverb-drenched": "reverb", "spacious": "wide",
    "wide": "wide", "punchy": "punchy", "polished": "polished", "raw": "raw", "gritty": "raw",
    "lush": "lush", "distorted": "distorted", "saturated": "saturated", "vintage": "vintage", "80s": "80s",
    "70s": "70s", "90s": "90s", "60s": "60s", "retro": "retro", "analog": "analog", "analogue": "analog",
    "live": "live", "acoustic": "acoustic", "intimate": "intimate", "cinematic": "epic", "rubato": "rubato",
    "staccato": "staccato", "legato": "legato", "sidechain": "sidechain", "sidechained": "sidechain",
    "muffled": "muffled", "atmospheric": "atmospheric", "crisp": "crisp", "clean": "clean", "heavy": "heavy", "minimal": "minimal",
    "sparse": "sparse", "dense": "dense", "layered": "layered",
}


def alias_table() -> dict[str, tuple[str, str]]:
    """Every phrase of the vocabulary -> (kind, canonical name); kind is 'genre', 'mood', 'instrument',
    'ensemble', 'context' or 'production'. Later kinds do not overwrite earlier ones, in the order
    instrument, ensemble, context, genre, mood, production."""
    table: dict[str, tuple[str, str]] = {}

    def put(phrase: str, kind: str, name: str) -> None:
        table.setdefault(phrase.lower(), (kind, name))

    for ins in _INSTRUMENT_LIST:
        put(ins.name, "instrument", ins.name)
        for a in ins.aliases:
            put(a, "instrument", ins.name)
    for ens in ENSEMBLES.values():
        put(ens.name, "ensemble", ens.name)
        for a in ens.aliases:
            put(a, "ensemble", ens.name)
    for word, attr in CONTEXT_WORDS.items():
        put(word, "context", attr)
    for g in _GENRE_LIST:
        put(g.name, "genre", g.name)
        for a in g.aliases:
            put(a, "genre", g.name)
    for m in _MOOD_LIST:
        put(m.name, "mood", m.name)
        for a in m.aliases:
            put(a, "mood", m.name)
    for w, tag in PRODUCTION_WORDS.items():
        put(w, "production", tag)
    return table
